"""Organisations: the Tenant, its Domains, Memberships with roles, and provisioning.

Shared app (public schema): these rows decide which schema a request reaches and who may enter
it, so they must be readable before any tenant schema is selected.
"""
