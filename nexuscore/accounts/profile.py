"""Changing a person's own details (the account page), recorded in the platform's audit log."""

from django.db import transaction

from nexuscore.audit.models import record_event


def _differs(user, field, value) -> bool:
    if field == "email_preferences":
        # A kind never chosen counts as wanted (User.wants_email), so {} equals all-True.
        return any(user.wants_email(kind) != wanted for kind, wanted in value.items())
    return getattr(user, field) != value


def update_profile(user, *, request=None, **changes) -> list[str]:
    """Set the User fields in `changes` (name, company, phone, timezone, email_preferences);
    record `account.profile_updated` naming the fields that changed. Returns their names."""
    changed = [field for field, value in changes.items() if _differs(user, field, value)]
    if not changed:
        return []
    for field in changed:
        value = changes[field]
        if field == "email_preferences":
            value = {**user.email_preferences, **value}  # keep kinds this form does not show
        setattr(user, field, value)
    data = {"fields": changed}  # names only: the values are personal data
    if request is not None:
        data["host"] = request.get_host()
    with transaction.atomic():
        user.save(update_fields=[*changed, "updated_at"])
        record_event("account.profile_updated", actor=user, data=data, schema_name="public")
    return changed
