"""How each plan enforces its limits: Starter refuses new leads past its limit, Growth and Scale
accept them and record the overage; members and privacy exports are hard limits everywhere."""

from django.db import migrations

ENFORCEMENT = {
    "starter": {"leads.created": "hard", "members": "hard", "privacy.exports": "hard"},
    "growth": {"leads.created": "soft", "members": "hard", "privacy.exports": "hard"},
    "scale": {"leads.created": "soft", "members": "hard", "privacy.exports": "hard"},
}


def set_enforcement(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.all():
        code = plan.sku.rsplit("-", 1)[0]
        if code in ENFORCEMENT:
            plan.limits = {**plan.limits, "enforcement": ENFORCEMENT[code]}
            plan.save(update_fields=["limits"])


def unset_enforcement(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.all():
        plan.limits.pop("enforcement", None)
        plan.save(update_fields=["limits"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_plans")]

    operations = [migrations.RunPython(set_enforcement, unset_enforcement)]
