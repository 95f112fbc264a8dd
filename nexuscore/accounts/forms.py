"""Forms of the accounts app."""

from django import forms


class SignupDetailsForm(forms.Form):
    """The fields allauth's sign-up form adds to email and password."""

    name = forms.CharField(
        max_length=255, label="Your name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    company = forms.CharField(max_length=255, required=False, label="Company")

    field_order = ["name", "company"]

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Tell us your name, as colleagues would know it.")
        return name

    def signup(self, request, user):
        user.name = self.cleaned_data["name"]
        user.company = self.cleaned_data.get("company", "")
        user.save(update_fields=["name", "company"])
