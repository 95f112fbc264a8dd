"""Billing: plans, subscriptions (and later invoices, Stripe, webhooks, idempotency).

Shared app (public schema): NexusCore bills organisations, so these are NexusCore's records
about its customers, reached per organisation through one scoped query (tenant=...).
"""
