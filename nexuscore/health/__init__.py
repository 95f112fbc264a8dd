"""Health: the /health/ endpoint and the worker heartbeat it reads.

Shared app (public schema): one heartbeat for the whole django-q2 cluster.
"""
