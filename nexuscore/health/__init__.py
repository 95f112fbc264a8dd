"""Health: the /health/ endpoint, the worker heartbeat it reads, and the emails that tell staff
when something needs a person (alerts.py).

Shared app (public schema): one heartbeat for the whole django-q2 cluster.
"""
