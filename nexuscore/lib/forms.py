"""Form fields shared by the forms of both hosts: text people type, hidden tracking values,
dates and time zones."""

import unicodedata
from datetime import date, datetime
from functools import cache
from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

# Bidirectional embeddings, overrides and isolates: invisible, and able to make a name read
# differently in the staff admin than it was typed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# What a browser's bytes become when they are not UTF-8 (Django decodes with "replace").
UNREADABLE = "\ufffd"


def problem_characters(value: str, *, allow_line_breaks: bool = False) -> str | None:
    """Why `value` holds characters we refuse to store, or None when it holds none."""
    allowed = {"\n", "\r", "\t"} if allow_line_breaks else set()
    if UNREADABLE in value:
        return "contains characters we could not read"
    for character in value:
        if character in allowed:
            continue
        if unicodedata.category(character) == "Cc" or character in BIDI_CONTROLS:
            return "contains invisible control characters"
    return None


def text_field(what: str, max_length: int, **kwargs) -> forms.CharField:
    """A text field whose errors name it (`what`, as in "your name") and say how to fix them."""
    return forms.CharField(
        max_length=max_length,
        error_messages={
            "required": f"Enter {what}.",
            "max_length": (
                f"Shorten {what} to at most %(limit_value)d characters (it has %(show_value)d)."
            ),
            "null_characters_not_allowed": (
                f"Type {what} again: it contains invisible control characters."
            ),
        },
        **kwargs,
    )


class TrackingField(forms.CharField):
    """A hidden value carried from the landing page (a UTM parameter, the referrer).

    People cannot see or correct it, so it never causes an error: unprintable characters are
    dropped and it is cut to the length the lead can store.
    """

    widget = forms.HiddenInput

    def __init__(self, limit: int, **kwargs):
        self.limit = limit
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return "".join(ch for ch in value if ch.isprintable())[: self.limit]


FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2099, 12, 31)
OUT_OF_RANGE = "Enter a date from 1900-01-01 to 2099-12-31."


def validate_day_in_range(value: date | datetime) -> None:
    """A date, or the day of a datetime, from FIRST_DAY to LAST_DAY.

    Nothing in NexusCore happens outside those years, and the calendar's edges are traps: the
    day after 9999-12-31 does not exist (OverflowError), and 0001-01-01 00:00 in Singapore is
    a moment in 1 BC in UTC, which PostgreSQL stores but Python cannot read back.
    """
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(OUT_OF_RANGE, code="out_of_range")


class DayField(forms.DateField):
    """A date people type or pick (a filter's ends, a follow-up's day), within
    validate_day_in_range; the browser's date picker offers only those days."""

    default_validators = [validate_day_in_range]

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget",
            forms.DateInput(
                attrs={"type": "date", "min": f"{FIRST_DAY}", "max": f"{LAST_DAY}"},
                format="%Y-%m-%d",
            ),
        )
        kwargs.setdefault("error_messages", {"invalid": "Enter a date like 2026-11-25."})
        super().__init__(**kwargs)


@cache
def zone_choices() -> tuple[tuple[str, str], ...]:
    """Time zones people live in (Area/City), readable, in alphabetical order; and UTC."""
    names = {
        name
        for name in available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/"))
    }
    return tuple((name, name.replace("_", " ")) for name in sorted(names | {"UTC"}))


def zone_choices_with(current: str) -> list[tuple[str, str]]:
    """zone_choices(), with `current` kept selectable when it is a zone they leave out."""
    choices = list(zone_choices())
    if current and current not in dict(choices):
        choices.insert(0, (current, current))
    return choices


@cache
def _escaped_options(choices: tuple[tuple[str, str], ...]) -> list[tuple[str, str, str]]:
    return [
        (value, format_html('<option value="{}"', value), format_html(">{}</option>", label))
        for value, label in choices
    ]


def options_html(choices, selected: str) -> SafeString:
    """The <option>s of a long select (the ~420 time zones), `selected` marked, escaped once
    per process: a template's loop over them took 8 ms a page, and crispy's select template,
    which loops the same way, longer."""
    parts = _escaped_options(tuple(choices))
    return mark_safe(
        "".join(
            f"{start}{' selected' if value == selected else ''}{end}" for value, start, end in parts
        )
    )
