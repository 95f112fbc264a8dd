"""Form fields shared by the public forms of both hosts."""

from django import forms


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
