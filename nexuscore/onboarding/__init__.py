"""Onboarding: from a verified sign-up to a working organisation on a trial, and the trial's
reminder emails.

No models of its own (shared, public host only): it creates Tenants, Memberships and
Subscriptions through provision_tenant(), and records the reminders it sent in
Subscription.metadata. The trial's read-only rule lives in tenants/middleware.py.
"""
