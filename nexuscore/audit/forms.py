"""The activity log's filters: what happened, who did it, and between which dates."""

from django import forms

from nexuscore.lib.forms import DayField


class ActivityFilterForm(forms.Form):
    """Filters of /activity/, read from the query string (type, person, from, to).

    Dates are whole days in the organisation's time zone, both ends included.
    """

    type = forms.ChoiceField(
        label="Type of activity",
        required=False,
        error_messages={"invalid_choice": "Choose a type of activity from the list."},
    )
    person = forms.ChoiceField(
        label="Person",
        required=False,
        error_messages={"invalid_choice": "Choose a person from the list."},
    )

    def __init__(self, *args, event_types, people, **kwargs):
        """`event_types`: (value, words) pairs; `people`: Users to choose from."""
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [("", "All activity"), *event_types]
        self.fields["person"].choices = [
            ("", "Everyone"),
            *((str(person.pk), person.name or person.email) for person in people),
        ]
        # "from" is a Python keyword, so these two are added here rather than declared.
        for name, label in (("from", "From"), ("to", "To")):
            self.fields[name] = DayField(label=label, required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and end < start:
            self.add_error("to", "This date is before the “From” date; choose a later one.")
        return cleaned
