"""Tenant isolation, proven for every page of the organisation URLconf.

The URL patterns are walked, so a page added tomorrow is covered without touching this file.
Each page is requested on acme's host, read (GET) and written (POST), by every acme role, by
nobody, and by globex's owner; each page that takes an object id is fed the ids of globex's own
rows (every model of the tenant schema, and every public row that belongs to globex). No answer
may be a server error, none may contain what is planted in globex, and nobody outside acme may
see what is planted in acme. Afterwards globex's rows are as they were.
"""

import re
import uuid

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_tenants.utils import schema_context

from nexuscore.leads.models import Lead, LeadImport, LeadNote
from tests.conftest import client_for

GLOBEX_MARK = "quokka"  # in every planted globex value, in any letter case
ACME_MARK = "marmoset"
ROLES = ["owner", "admin", "member", "viewer"]


def _walk(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern


ORGANISATION_PAGES = dict(_walk(get_resolver(settings.ROOT_URLCONF).url_patterns))


def _parameters(pattern) -> dict[str, str]:
    """Each URL parameter's converter: "uuid", "slug", "int", "str" or "regex"."""
    converters = getattr(pattern.pattern, "converters", {})
    if converters:
        return {
            name: type(converter).__name__.removesuffix("Converter").lower()
            for name, converter in converters.items()
        }
    return dict.fromkeys(re.compile(pattern.pattern.regex.pattern).groupindex, "regex")


def _tenant_models():
    """Models whose tables live in every organisation's schema, with a UUID primary key."""
    tenant_apps = set(settings.TENANT_APPS)
    for model in apps.get_models():
        config = model._meta.app_config
        if config.name in tenant_apps and isinstance(model._meta.pk, models.UUIDField):
            yield model


def _public_models_of_a_tenant():
    """Public-schema models with a `tenant` foreign key (memberships, invitations, invoices...)."""
    for model in apps.get_models():
        field = next((f for f in model._meta.fields if f.name == "tenant"), None)
        if field is not None and field.is_relation and isinstance(model._meta.pk, models.UUIDField):
            yield model


def _ids_of(tenant) -> list[str]:
    ids = []
    with schema_context(tenant.schema_name):
        for model in _tenant_models():
            ids += [str(pk) for pk in model.objects.values_list("pk", flat=True)[:3]]
    for model in _public_models_of_a_tenant():
        rows = model.objects.filter(tenant=tenant).values_list("pk", flat=True)[:3]
        ids += [str(pk) for pk in rows]
    return ids


def _plant(tenant, mark, author) -> Lead:
    """A lead, a note and an import in `tenant`, every text carrying `mark`."""
    with schema_context(tenant.schema_name):
        lead = Lead.objects.create(
            name=f"Zed {mark.title()}worth",
            email=f"zed@{mark}-{tenant.schema_name}.test",
            company=f"{mark.title()} Holdings",
            phone="+6591234567",
            form_data={"message": f"secret {mark} plans"},
        )
        LeadNote.objects.create(lead=lead, author=author, text=f"{mark} note")
        LeadImport.objects.create(
            file=f"imports/{mark}.csv", original_name=f"{mark}.csv", created_by=author
        )
        return lead


def _urls(name, pattern, other_ids, slug) -> list[str]:
    parameters = _parameters(pattern)
    if not parameters:
        return [reverse(name)]
    filler = {"slug": slug, "int": "1", "string": "x", "path": "x", "regex": "x1"}
    if "uuid" not in parameters.values():
        return [reverse(name, kwargs={k: filler[v] for k, v in parameters.items()})]
    urls = []
    for other_id in [*other_ids, str(uuid.uuid4())]:
        kwargs = {k: other_id if v == "uuid" else filler[v] for k, v in parameters.items()}
        urls.append(reverse(name, kwargs=kwargs))
    return urls


def _body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


@pytest.mark.parametrize("name", sorted(ORGANISATION_PAGES))
def test_no_page_leaks_another_organisation(request, name, acme, globex, owner, outsider):
    pattern = ORGANISATION_PAGES[name]
    planted = _plant(globex, GLOBEX_MARK, outsider)
    _plant(acme, ACME_MARK, owner)
    with schema_context("globex"):
        from nexuscore.leads.models import CaptureForm

        slug = CaptureForm.objects.values_list("slug", flat=True).first() or "contact"
    urls = _urls(name, pattern, _ids_of(globex), slug)
    visitors = {role: request.getfixturevalue(role) for role in ROLES}
    visitors |= {"anonymous": None, "globex owner": outsider}

    for who, user in visitors.items():
        client = client_for(acme, user)
        for url in urls:
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                seen = f"{method.upper()} {url} as {who}: {response.status_code}"
                # /health/ says 503 while no worker has reported in, as it should.
                unhealthy = name == "health" and response.status_code == 503
                assert response.status_code < 500 or unhealthy, seen
                body = _body(response).lower()
                assert GLOBEX_MARK not in body, f"{seen} shows globex's data"
                if who in ("anonymous", "globex owner"):
                    assert ACME_MARK not in body, f"{seen} shows acme's data to a stranger"

    with schema_context("globex"):
        planted.refresh_from_db()
        assert planted.name == "Zed Quokkaworth" and planted.status == Lead.Status.NEW
        assert LeadNote.objects.filter(lead=planted).exists()
        assert LeadImport.objects.filter(original_name=f"{GLOBEX_MARK}.csv").exists()


def test_every_organisation_page_is_walked():
    """The walk finds the pages (a broken walk would pass every test above by finding none)."""
    assert {"dashboard", "leads:list", "leads:detail", "team", "organisation_settings"} <= set(
        ORGANISATION_PAGES
    )
    uuid_pages = [n for n, p in ORGANISATION_PAGES.items() if "uuid" in _parameters(p).values()]
    assert len(uuid_pages) >= 10


def test_the_planted_ids_cover_every_tenant_model(globex, outsider):
    _plant(globex, GLOBEX_MARK, outsider)
    with schema_context("globex"):
        expected = {str(Lead.objects.get(name="Zed Quokkaworth").pk)}
        expected |= {str(pk) for pk in LeadImport.objects.values_list("pk", flat=True)}
    ids = set(_ids_of(globex))
    assert expected <= ids
    assert {str(m.pk) for m in globex.memberships.all()} <= ids


def test_cache_keys_are_per_organisation(acme, globex):
    with schema_context(acme.schema_name):
        cache.set("isolation-probe", "acme's")
    with schema_context(globex.schema_name):
        assert cache.get("isolation-probe") is None
        cache.set("isolation-probe", "globex's")
    with schema_context(acme.schema_name):
        assert cache.get("isolation-probe") == "acme's"
        cache.delete("isolation-probe")
    with schema_context(globex.schema_name):
        cache.delete("isolation-probe")


def test_uploaded_files_are_stored_under_the_organisations_folder(acme, globex, owner, outsider):
    from django.core.files.base import ContentFile

    from nexuscore.leads.models import LeadImport

    paths = {}
    for tenant, user in ((acme, owner), (globex, outsider)):
        with schema_context(tenant.schema_name):
            lead_import = LeadImport(original_name="same.csv", created_by=user)
            lead_import.file.save("same.csv", ContentFile(b"Name\nA\n"), save=True)
            paths[tenant.schema_name] = lead_import.file.path
            lead_import.file.delete(save=False)
    assert "/acme/" in paths["acme"] and "/globex/" in paths["globex"]
    assert paths["acme"] != paths["globex"]


def _admin_pages() -> list[str]:
    """The staff admin's index, and each registered model's list and add pages."""
    from django.contrib import admin

    pages = ["/admin/"]
    for model in admin.site._registry:
        meta = model._meta
        pages += [f"/admin/{meta.app_label}/{meta.model_name}/"]
        pages += [f"/admin/{meta.app_label}/{meta.model_name}/add/"]
    return pages


def test_the_staff_admin_is_for_staff_only(owner, staff_with_mfa):
    pages = _admin_pages()
    assert len(pages) > 10
    for who, user in (("anonymous", None), ("an organisation owner", owner)):
        client = client_for(None, user)
        for page in pages:
            response = client.get(page)
            assert response.status_code == 302, f"{page} as {who}: {response.status_code}"
            assert response["Location"].startswith("/admin/login/"), page
    staff = client_for(None, staff_with_mfa)
    for page in pages:
        # Read-only models refuse their add page (403); everything else opens.
        assert staff.get(page).status_code in (200, 403), page
