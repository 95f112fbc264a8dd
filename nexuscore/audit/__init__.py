"""Audit events: who did what, when.

Both shared and tenant: the public schema keeps platform events (organisations created, staff
actions); each organisation's schema keeps its own events, so its activity log and any privacy
export read only its own schema. Rows are append-only, enforced by a database trigger.
"""
