"""The public site's pages: home, features, pricing, about, contact, privacy notice and terms,
plus robots.txt and the sitemap.

Each page names its own <title> and meta description (`page_title`, `page_description`), which
public/base.html also uses for the Open Graph tags. Pages that look the same to every visitor
who is not signed in may be kept by any cache for five minutes (`cache_for_visitors`), each web
process's own included (nexuscore/marketing/cache.py).
"""

import logging

from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_http_methods, require_safe
from django.views.decorators.vary import vary_on_headers

from nexuscore.billing.models import Plan
from nexuscore.lib.htmx import render_page
from nexuscore.lib.ratelimit import client_address
from nexuscore.marketing.cache import cache_for_visitors
from nexuscore.marketing.contact import (
    ENQUIRIES,
    already_received,
    receive_contact_request,
    sales_team_address,
)
from nexuscore.marketing.forms import ContactForm

logger = logging.getLogger(__name__)


@require_safe
@cache_for_visitors
def home(request):
    return render(
        request,
        "public/home.html",
        {
            "page_title": "NexusCore · Leads, GST billing and PDPA compliance for Singapore "
            "businesses",
            "page_description": "NexusCore keeps your sales leads, 9% GST tax invoices and "
            "PDPA obligations in one place, with your own subdomain and data hosted in "
            "Singapore.",
            "starting_plan": Plan.objects.on_sale()
            .filter(billing_period=Plan.Period.MONTH)
            .order_by("amount_cents")
            .first(),
        },
    )


@require_safe
@cache_for_visitors
def features(request):
    return render(
        request,
        "public/features.html",
        {
            "page_title": "Features · NexusCore",
            "page_description": "Lead capture and follow-up, tax invoices with 9% GST, PDPA "
            "consent and access requests, and an isolated database schema for every "
            "organisation, hosted in Singapore.",
        },
    )


def _pricing_period(request) -> str:
    period = request.GET.get("period", "")
    return period if period in Plan.Period.values else Plan.Period.MONTH


def _price_cards(period: str) -> list[dict]:
    """The plans on sale for one billing period, each with what paying yearly saves."""
    plans = list(Plan.objects.on_sale())
    monthly = {plan.code: plan for plan in plans if plan.billing_period == Plan.Period.MONTH}
    cards = []
    for plan in plans:
        if plan.billing_period != period:
            continue
        month_plan = monthly.get(plan.code)
        yearly_saving = None
        if plan.billing_period == Plan.Period.YEAR and month_plan is not None:
            yearly_saving = month_plan.amount * 12 - plan.amount
        cards.append(
            {
                "plan": plan,
                "yearly_saving": yearly_saving if yearly_saving and yearly_saving > 0 else None,
            }
        )
    return cards


@require_safe
@vary_on_headers("HX-Request")
@cache_for_visitors
def pricing(request):
    """The price list for one billing period (?period=month or year).

    The monthly / yearly switch is a plain link; with htmx it fetches only the #plans partial.
    """
    period = _pricing_period(request)
    context = {
        "page_title": "Pricing · NexusCore",
        "page_description": "Starter, Growth and Scale plans in Singapore dollars before 9% "
        "GST, billed monthly or yearly with two months free. Every plan starts with a "
        "14-day free trial.",
        "period": period,
        "cards": _price_cards(period),
    }
    return render_page(request, "public/pricing.html", context, partial="plans")


@require_safe
@cache_for_visitors
def about(request):
    return render(
        request,
        "public/about.html",
        {
            "page_title": "About us · NexusCore",
            "page_description": "NexusCore Pte. Ltd. builds software for Singapore B2B teams: "
            "leads, GST-ready billing and PDPA compliance, run from Singapore.",
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache  # each form carries its own submission key and CSRF token
def contact(request):
    """The contact form: a valid enquiry becomes a sales lead, then the thank-you page.

    A filled honeypot gets the thank-you page and nothing is stored. A form sent again with the
    same submission key gets the thank-you page and no second lead. An address that has sent
    too many enquiries lately gets the form back, as typed, with an explanation.
    """
    if request.method != "POST":
        form = ContactForm.for_landing(request)
    else:
        form = ContactForm(request.POST)
        if form.filled_honeypot():
            logger.info("Contact form honeypot filled; nothing stored.")
            return redirect("contact_thanks")
        if form.is_valid():
            if already_received(form.cleaned_data["submission_key"]):
                # Sent again (a double click, a reload): answered, however busy this address.
                return redirect("contact_thanks")
            if not ENQUIRIES.attempt(ip=client_address(request)):
                form.add_error(
                    None,
                    "You have sent us several messages in the last few minutes, so we cannot "
                    "accept another just now. Your message is still here: please send it again "
                    f"in ten minutes, or email us at {sales_team_address()}.",
                )
            else:
                receive_contact_request(form.cleaned_data, actor=request.user)
                return redirect("contact_thanks")
    return render(
        request,
        "public/contact.html",
        {
            "page_title": "Contact sales · NexusCore",
            "page_description": "Ask NexusCore's team in Singapore about leads, GST tax "
            "invoices, PDPA compliance or a plan for your organisation. We reply within one "
            "working day.",
            "form": form,
        },
    )


@require_safe
@cache_for_visitors
def contact_thanks(request):
    return render(
        request,
        "public/contact_thanks.html",
        {
            "page_title": "Thank you for your message · NexusCore",
            "page_description": "Your message has reached NexusCore's team in Singapore.",
        },
    )


@require_safe
@cache_for_visitors
def privacy(request):
    return render(
        request,
        "public/privacy.html",
        {
            "page_title": "Privacy notice · NexusCore",
            "page_description": "How NexusCore Pte. Ltd. collects, uses, keeps and protects "
            "personal data under Singapore's PDPA, and how to make an access, correction or "
            "deletion request.",
        },
    )


@require_safe
@cache_for_visitors
def terms(request):
    return render(
        request,
        "public/terms.html",
        {
            "page_title": "Terms of service · NexusCore",
            "page_description": "The terms on which NexusCore Pte. Ltd. provides the NexusCore "
            "service to organisations in Singapore.",
        },
    )


@require_safe
@cache_control(public=True, max_age=86400)
def robots_txt(request):
    """Every crawler may read the public site; the sitemap lists its pages."""
    return render(
        request,
        "robots.txt",
        {"sitemap_url": request.build_absolute_uri("/sitemap.xml")},
        content_type="text/plain; charset=utf-8",
    )
