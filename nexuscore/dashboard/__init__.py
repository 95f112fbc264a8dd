"""The organisation's dashboard: the first page a member sees on their organisation's host.

No models of its own: it reads the tenant schema's other apps.
"""
