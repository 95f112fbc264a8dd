"""Billing: plans, subscriptions, tax invoices, Stripe (calls, webhook, handlers), dunning and
idempotency records. docs/architecture.md ("Billing") describes how they fit.

Shared app (public schema): NexusCore bills organisations, so these are NexusCore's records
about its customers, reached per organisation through one scoped query (tenant=...).
"""
