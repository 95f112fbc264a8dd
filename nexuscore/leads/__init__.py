"""Leads: the CRM.

Both shared and tenant: each organisation's leads live in its own schema; NexusCore's own sales
leads (from the public contact form) live in the public schema, where staff work them in the
staff admin. Same model, same code, the schema decides whose leads they are.
"""
