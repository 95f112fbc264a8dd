"""Two-factor authentication in tests: give a person an authenticator app with a known secret,
and compute the codes that app would show, with allauth's own TOTP functions.

Test modules load the fixtures with `pytest_plugins = ["tests.fixtures_mfa"]` and import the
helpers.
"""

import time

import pytest
from allauth.mfa import app_settings
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value

from tenants.middleware import forget_hosts

# A fixed base32 secret, as an authenticator app would hold it after scanning the QR code.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str = TOTP_SECRET) -> str:
    """The code an authenticator app shows now for `secret`.

    allauth accepts only the current time step's code (MFA_TOTP_TOLERANCE = 0), so this waits
    out the last second of a step rather than hand over a code about to expire.
    """
    period = app_settings.TOTP_PERIOD
    if period - time.time() % period < 1.5:
        time.sleep(period - time.time() % period + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def give_authenticator(user, secret: str = TOTP_SECRET) -> list[str]:
    """Turn on two-factor for `user`: an authenticator app with `secret`, and recovery codes,
    as allauth's set-up page leaves them. Returns the recovery codes."""
    TOTP.activate(user, secret)
    return RecoveryCodes.activate(user).generate_codes()


@pytest.fixture
def staff_with_mfa(staff):
    """The staff member, with an authenticator app (TOTP_SECRET) and recovery codes."""
    give_authenticator(staff)
    return staff


@pytest.fixture
def acme_requires_two_factor(acme):
    """Acme, requiring two-factor of its members."""
    acme.requires_two_factor = True
    acme.save()
    yield acme
    forget_hosts()  # the host cache outlives the rolled-back transaction
