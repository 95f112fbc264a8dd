"""The public site's pages: content, head tags, caching, pricing from the Plan table, robots.txt
and the sitemap."""

import re
from html import unescape
from xml.etree import ElementTree

import pytest

from nexuscore.billing.models import Plan
from tests.conftest import client_for

# path -> words its <title> must contain
PAGES = {
    "/": "Leads, GST billing and PDPA compliance",
    "/features/": "Features",
    "/pricing/": "Pricing",
    "/about/": "About us",
    "/contact/": "Contact sales",
    "/contact/thanks/": "Thank you",
    "/privacy/": "Privacy notice",
    "/terms/": "Terms of service",
}
# The pages that look the same to every visitor who is not signed in.
SHARED_PAGES = [path for path in PAGES if path != "/contact/"]


def _meta(html: str, attribute: str, name: str) -> str | None:
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"', html)
    return unescape(match.group(1)) if match else None


def _title(html: str) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", html, re.S).group(1)).strip()


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_see_each_page_with_its_title_description_and_og_tags(db, path):
    response = client_for(None).get(path)
    assert response.status_code == 200
    html = response.content.decode()
    title = _title(html)
    assert PAGES[path] in title
    assert "NexusCore" in title
    description = _meta(html, "name", "description")
    assert description and len(description) > 40
    assert _meta(html, "property", "og:title") == title
    assert _meta(html, "property", "og:description") == description
    assert _meta(html, "property", "og:type") == "website"
    assert _meta(html, "property", "og:url") == f"http://localhost{path}"


def test_og_url_is_the_page_without_its_query_string(db):
    html = client_for(None).get("/pricing/?period=year&utm_source=x").content.decode()
    assert _meta(html, "property", "og:url") == "http://localhost/pricing/"
    assert '<link rel="canonical" href="http://localhost/pricing/">' in html


def test_each_page_has_its_own_title_and_description(db):
    client = client_for(None)
    pages = [client.get(path).content.decode() for path in PAGES]
    assert len({_title(html) for html in pages}) == len(PAGES)
    assert len({_meta(html, "name", "description") for html in pages}) == len(PAGES)


@pytest.mark.parametrize("path", PAGES)
def test_signed_in_people_see_each_page_with_their_menu(owner, path):
    response = client_for(None, owner).get(path)
    assert response.status_code == 200
    assert b"Account menu for" in response.content
    assert b"Your organisations" in response.content


@pytest.mark.parametrize("path", SHARED_PAGES)
def test_pages_for_visitors_may_be_cached_by_anyone_for_five_minutes(db, path):
    response = client_for(None).get(path)
    assert set(response["Cache-Control"].split(", ")) == {"public", "max-age=300"}
    assert "Cookie" in response["Vary"]


@pytest.mark.parametrize("path", SHARED_PAGES)
def test_pages_for_signed_in_people_are_private(owner, path):
    response = client_for(None, owner).get(path)
    cache_control = response["Cache-Control"]
    assert "private" in cache_control
    assert "public" not in cache_control
    assert "Cookie" in response["Vary"]


def test_a_page_showing_a_message_is_not_shared(owner):
    client = client_for(None, owner)
    client.post("/accounts/logout/")
    response = client.get("/")  # shows "You have signed out." once
    assert b"You have signed out" in response.content
    assert "private" in response["Cache-Control"]
    assert "public" in client.get("/")["Cache-Control"]


def test_the_contact_form_is_never_cached(db):
    cache_control = client_for(None).get("/contact/")["Cache-Control"]
    assert "no-store" in cache_control
    assert "public" not in cache_control


@pytest.mark.parametrize("path", SHARED_PAGES)
def test_pages_refuse_writes(db, path):
    client = client_for(None)
    assert client.post(path).status_code == 405
    assert client.put(path).status_code == 405


@pytest.mark.parametrize("path", [*SHARED_PAGES, "/contact/"])
def test_pages_answer_head(db, path):
    assert client_for(None).head(path).status_code == 200


@pytest.mark.parametrize("path", ["/features/", "/pricing/", "/about/", "/privacy/", "/terms/"])
def test_marketing_pages_are_not_on_organisation_hosts(acme, owner, path):
    assert client_for(acme, owner).get(path).status_code == 404


def test_header_and_footer_link_every_page(db):
    html = client_for(None).get("/about/").content.decode()
    for path in ["/features/", "/pricing/", "/about/", "/contact/", "/privacy/", "/terms/"]:
        assert f'href="{path}"' in html, path
    assert 'href="/signup/" class="btn btn-primary">Start free trial</a>' in html
    assert 'href="/about/" class="' in html and 'aria-current="page">About</a>' in html


def test_home_page_names_the_cheapest_monthly_price(db):
    html = client_for(None).get("/").content.decode()
    assert "plans from S$49.00 a month before 9% GST" in html


def test_privacy_notice_covers_the_pdpa_essentials(db):
    html = unescape(client_for(None).get("/privacy/").content.decode())
    for words in [
        "data intermediary",
        "Account data",
        "Organisation data",
        "Contact-form leads",
        "five years",
        "no longer needed",
        "within 30 days",
        "withdraw your consent",
        'href="/privacy/request/"',
        "dpo@nexuscore.test",
        "Data Protection Officer",
        "1 Marina Boulevard #28-00",
        "Singapore 018989",
    ]:
        assert words in html, words


# --- Pricing -------------------------------------------------------------------------------


def test_pricing_shows_monthly_prices_before_gst_by_default(db):
    html = client_for(None).get("/pricing/").content.decode()
    assert "S$49.00" in html  # Starter, before GST
    assert "S$53.41" in html  # with 9% GST
    assert "S$149.00" in html and "S$399.00" in html
    assert "before 9% GST" in html
    assert 'href="/signup/?plan=starter-month"' in html
    assert 'href="/signup/?plan=scale-month"' in html
    assert html.count("Start 14-day free trial") == 3
    assert "starter-year" not in html
    assert 'id="period-month" href="/pricing/?period=month"' in html


def test_pricing_yearly_by_plain_link_says_two_months_free(db):
    response = client_for(None).get("/pricing/?period=year")
    html = response.content.decode()
    assert "<html" in html
    assert "S$490.00" in html  # ten months of Starter
    assert "S$534.10" in html  # with GST
    assert "S$40.83 a month, billed yearly" in html
    assert "you save S$98.00 a year" in html
    assert "2 months free" in html
    assert 'href="/signup/?plan=growth-year"' in html
    assert "growth-month" not in html


@pytest.mark.parametrize("period", ["month", "year"])
def test_pricing_switch_over_htmx_gets_only_the_price_cards(db, period):
    response = client_for(None).get(f"/pricing/?period={period}", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="plans"')
    assert f'href="/signup/?plan=starter-{period}"' in html
    assert 'hx-push-url="true"' in html
    assert "HX-Request" in response["Vary"]


def test_pricing_htmx_history_restore_gets_the_whole_page(db):
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    response = client_for(None).get("/pricing/?period=year", headers=headers)
    assert b"<html" in response.content


def test_pricing_with_an_unknown_period_shows_monthly_prices(db):
    html = client_for(None).get("/pricing/?period=decade").content.decode()
    assert 'href="/signup/?plan=starter-month"' in html


def test_pricing_comes_from_the_plan_table(db):
    Plan.objects.filter(sku="starter-month").update(amount_cents=5900)
    Plan.objects.filter(sku="scale-month").update(is_active=False)
    html = client_for(None).get("/pricing/").content.decode()
    assert "S$59.00" in html
    assert "scale-month" not in html
    assert html.count("Start 14-day free trial") == 2


def test_pricing_with_nothing_on_sale_says_so(db):
    Plan.objects.filter(billing_period="year").update(is_active=False)
    response = client_for(None).get("/pricing/?period=year")
    assert response.status_code == 200
    assert b"Ask our team for a quote" in response.content


# --- robots.txt and the sitemap ----------------------------------------------------------


def test_robots_txt_allows_everything_and_names_the_sitemap(db):
    response = client_for(None).get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "User-agent: *" in lines
    assert "Allow: /" in lines
    assert "Sitemap: http://localhost/sitemap.xml" in lines
    assert not any(line.startswith("Disallow") for line in lines)


def test_sitemap_lists_the_public_pages_with_absolute_addresses(db):
    response = client_for(None).get("/sitemap.xml", HTTP_HOST="localhost:8031")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    tree = ElementTree.fromstring(response.content)
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = {loc.text for loc in tree.findall("s:url/s:loc", namespace)}
    assert locations == {
        f"http://localhost:8031{path}"
        for path in ["/", "/features/", "/pricing/", "/about/", "/contact/", "/privacy/", "/terms/"]
    }


@pytest.mark.parametrize("path", ["/robots.txt", "/sitemap.xml"])
def test_robots_and_sitemap_refuse_writes(db, path):
    assert client_for(None).post(path).status_code == 405
