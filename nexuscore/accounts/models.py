"""The User and the single-use tokens that hand a signed-in person to a tenant host."""

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, name="", **extra_fields):
        if not email:
            raise ValueError("Email is required")
        user = self.model(email=self.normalize_email(email).lower(), name=name, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def active_staff(self):
        """NexusCore's own people who may work now: staff, not deactivated."""
        return self.filter(is_staff=True, is_active=True)

    def create_superuser(self, email, password=None, name="", **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self.create_user(email, password, name, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(
        max_length=254,
        unique=True,
        error_messages={"unique": "A person with this email address already has an account."},
    )
    name = models.CharField(max_length=255)
    company = models.CharField(max_length=255, blank=True, default="")
    phone = models.CharField(max_length=20, blank=True, default="")
    timezone = models.CharField(max_length=50, default="Asia/Singapore")
    email_preferences = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["email"]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return (self.name or self.email).split()[0]

    def wants_email(self, kind: str) -> bool:
        """Whether this person accepts email of `kind` (for example "trial", "follow_ups")."""
        return self.email_preferences.get(kind, True)


class HandoverToken(models.Model):
    """A one-time permission to sign a person in on one organisation's host.

    The signed token in the hand-over link names this row; redeeming deletes it, so a link works
    once, and it expires after settings.HANDOVER_MAX_AGE_SECONDS.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    schema_name = models.CharField(max_length=63)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self):
        return f"{self.user} -> {self.schema_name}"
