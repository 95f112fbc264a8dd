"""Audit events for changes to a person's sign-in security, from allauth's signals.

allauth makes the changes (password, email addresses, authenticators); these receivers record
them. A person's account is not any one organisation's, so the events go to the platform log in
the public schema, whichever host the change was made on; `host` in the event's data says
where. AccountsConfig.ready() connects them.
"""

from allauth.mfa.models import Authenticator

from nexuscore.audit.models import record_event

# Authenticators that are a second factor by themselves; recovery codes only back them up.
SECOND_FACTORS = {Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN}


def _record(event_type, user, request, **data):
    if request is not None:
        data["host"] = request.get_host()
    record_event(event_type, actor=user, data=data, schema_name="public")


def record_password_changed(sender, request=None, user=None, **kwargs):
    _record("account.password_changed", user, request, how="changed")


def record_password_reset(sender, request=None, user=None, **kwargs):
    """A reset from an emailed link is a password change too, made without the old one."""
    _record("account.password_changed", user, request, how="reset")


def record_email_added(sender, request=None, user=None, email_address=None, **kwargs):
    _record("account.email_added", user, request, email=email_address.email)


def record_email_removed(sender, request=None, user=None, email_address=None, **kwargs):
    _record("account.email_removed", user, request, email=email_address.email)


def record_email_changed(
    sender, request=None, user=None, from_email_address=None, to_email_address=None, **kwargs
):
    """The primary address, the one people sign in with and we write to, changed."""
    old = from_email_address.email if from_email_address else None
    _record("account.email_changed", user, request, old=old, new=to_email_address.email)


def record_authenticator_added(sender, request=None, user=None, authenticator=None, **kwargs):
    if authenticator.type in SECOND_FACTORS:
        _record("account.mfa_enabled", user, request, method=authenticator.type)


def record_authenticator_removed(sender, request=None, user=None, authenticator=None, **kwargs):
    if authenticator.type in SECOND_FACTORS:
        _record("account.mfa_disabled", user, request, method=authenticator.type)


def record_recovery_codes_reset(sender, request=None, user=None, authenticator=None, **kwargs):
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        _record("account.recovery_codes_regenerated", user, request)


def connect():
    from allauth.account import signals as account_signals
    from allauth.mfa import signals as mfa_signals

    receivers = [
        (account_signals.password_changed, record_password_changed),
        (account_signals.password_reset, record_password_reset),
        (account_signals.email_added, record_email_added),
        (account_signals.email_removed, record_email_removed),
        (account_signals.email_changed, record_email_changed),
        (mfa_signals.authenticator_added, record_authenticator_added),
        (mfa_signals.authenticator_removed, record_authenticator_removed),
        (mfa_signals.authenticator_reset, record_recovery_codes_reset),
    ]
    for signal, receiver in receivers:
        signal.connect(receiver, dispatch_uid=f"nexuscore.accounts.{receiver.__name__}")
