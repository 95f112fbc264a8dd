"""Singapore identifiers: UEN (ACRA's Unique Entity Number) and GST registration numbers.

UEN formats and check characters are verified with python-stdnum. A GST registration number is
either the organisation's UEN or an IRAS "M" number (M + 8 characters + a check character, often
written M2-1234567-K); IRAS publishes no check-character algorithm for M numbers, so those are
checked for shape only.
"""

import re

from django.core.exceptions import ValidationError
from stdnum.sg import uen as stdnum_uen

GST_M_NUMBER = re.compile(r"^M[0-9A-Z][0-9]{7}[0-9A-Z]$")


def normalise_identifier(value: str) -> str:
    """Upper-case, without the spaces, dashes and dots people type between groups."""
    return re.sub(r"[\s.\-]", "", value or "").upper()


def uen_problem(value: str) -> str | None:
    """Why `value` is not a valid UEN, in words a person can act on; None when it is valid."""
    compact = normalise_identifier(value)
    if not compact:
        return "Enter your organisation's UEN."
    try:
        stdnum_uen.validate(compact)
    except stdnum_uen.InvalidLength:
        return "A UEN has 9 or 10 characters, for example 201912345R or 53123456L."
    except stdnum_uen.InvalidChecksum:
        return (
            "The last character of this UEN does not match the rest; "
            "check it against your ACRA record."
        )
    except stdnum_uen.ValidationError:
        return "This is not a UEN format ACRA issues; check it against your ACRA record."
    return None


def validate_uen(value: str) -> None:
    problem = uen_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_uen")


def gst_number_problem(value: str) -> str | None:
    """Why `value` is not a GST registration number; None when it is valid."""
    compact = normalise_identifier(value)
    if not compact:
        return "Enter the GST registration number IRAS gave you."
    if GST_M_NUMBER.match(compact) or stdnum_uen.is_valid(compact):
        return None
    return "A GST registration number is your UEN or an IRAS number like M90364567L."


def validate_gst_number(value: str) -> None:
    problem = gst_number_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_gst_number")
