"""The three plans NexusCore sells, each monthly and yearly (two months free), prices in SGD
cents before GST."""

from django.db import migrations

PLANS = [
    {
        "code": "starter",
        "name": "Starter",
        "description": "For a small team starting to track its leads properly.",
        "monthly_cents": 4900,
        "limits": {"leads_per_month": 500, "members": 3, "privacy_exports_per_month": 5},
        "features": [
            "500 new leads a month",
            "3 team members",
            "Website capture form",
            "GST tax invoices",
            "PDPA request inbox",
        ],
    },
    {
        "code": "growth",
        "name": "Growth",
        "description": "For sales teams that live in their pipeline.",
        "monthly_cents": 14900,
        "limits": {"leads_per_month": 5000, "members": 10, "privacy_exports_per_month": 25},
        "features": [
            "5,000 new leads a month",
            "10 team members",
            "CSV import and export",
            "Follow-up reminders",
            "Everything in Starter",
        ],
    },
    {
        "code": "scale",
        "name": "Scale",
        "description": "For organisations with many teams and heavy compliance needs.",
        "monthly_cents": 39900,
        "limits": {"leads_per_month": 50000, "members": 50, "privacy_exports_per_month": 100},
        "features": [
            "50,000 new leads a month",
            "50 team members",
            "Two-factor sign-in required for all",
            "Priority support",
            "Everything in Growth",
        ],
    },
]


def create_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for order, plan in enumerate(PLANS):
        for period, amount in (
            ("month", plan["monthly_cents"]),
            ("year", plan["monthly_cents"] * 10),
        ):
            Plan.objects.update_or_create(
                sku=f"{plan['code']}-{period}",
                defaults={
                    "name": plan["name"],
                    "description": plan["description"],
                    "billing_period": period,
                    "amount_cents": amount,
                    "currency": "SGD",
                    "features": plan["features"],
                    "limits": plan["limits"],
                    "display_order": order,
                },
            )


def remove_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    Plan.objects.filter(
        sku__in=[f"{p['code']}-{period}" for p in PLANS for period in ("month", "year")]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_plans, remove_plans)]
