"""UEN and GST registration numbers against real valid and invalid examples."""

import pytest
from django.core.exceptions import ValidationError

from nexuscore.lib.singapore import (
    gst_number_problem,
    uen_problem,
    validate_gst_number,
    validate_uen,
)

VALID_UENS = [
    "00192200M",  # business (ROB)
    "197401143C",  # local company
    "S16FC0121D",  # other entity
    "201912345R",
    "53123456L",
    " 1974-01143c ",  # typed with spaces, a dash, lower case
]
INVALID_UENS = [
    ("12345678A", "last character"),
    ("201912345Z", "last character"),
    ("T08GB0001A", "last character"),
    ("1234", "9 or 10 characters"),
    ("", "Enter"),
    ("ABCDEFGHIJ", "format"),
]


@pytest.mark.parametrize("value", VALID_UENS)
def test_valid_uens_pass(value):
    validate_uen(value)
    assert uen_problem(value) is None


@pytest.mark.parametrize(("value", "reason"), INVALID_UENS)
def test_invalid_uens_say_why(value, reason):
    with pytest.raises(ValidationError):
        validate_uen(value)
    assert reason in uen_problem(value)


@pytest.mark.parametrize("value", ["M90364567L", "M2-0082526-3", "MR-8500053-0", "197401143C"])
def test_valid_gst_numbers_pass(value):
    validate_gst_number(value)


@pytest.mark.parametrize("value", ["M1234", "X90364567L", "12345678A", "M9036456"])
def test_invalid_gst_numbers_are_refused(value):
    with pytest.raises(ValidationError):
        validate_gst_number(value)
    assert "GST registration number" in gst_number_problem(value)
