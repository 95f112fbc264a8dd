"""Onboarding: from a verified sign-up to a working organisation on a trial.

No models of its own (shared, public host only): it creates Tenants, Memberships and
Subscriptions through provision_tenant().
"""
