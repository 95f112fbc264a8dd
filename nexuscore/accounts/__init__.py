"""People who sign in: the User model, the allauth adapter and the hand-over to tenant hosts.

Shared app (public schema only): one identity per person across every organisation they belong
to; memberships in tenants/ say what they may do where.
"""
