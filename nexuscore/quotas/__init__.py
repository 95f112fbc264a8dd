"""Quotas: what each organisation uses against its plan's limits.

Shared app (public schema): usage is NexusCore's record about its customers (it drives limits
and billing), so it lives beside plans and subscriptions, keyed by tenant and reached
through one scoped query each.
"""
