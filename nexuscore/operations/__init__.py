"""Operations: the figures a person running NexusCore watches, read from the layers below
(the task queue, Stripe events, the schema pool, organisations, the worker heartbeat): served
to Prometheus at /metrics and to staff on the staff admin's operations page.

No models and no app config: a plain package in the top layer, so it may read billing, health
and tenants while none of them (nor the staff admin site, far below) imports it. Its pages are
routed in urls_public.py, the admin pages inside the admin site's own guard (admin_view).
"""
