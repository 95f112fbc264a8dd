"""Marketing: the public site's pages and the contact form that becomes a NexusCore sales lead.

No models of its own (shared, public host only): contact requests are Leads in the public schema.
"""
