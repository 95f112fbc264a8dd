"""htmx asks for the whole page when it restores history after its cache lost it: every page
that answers HTMX swaps with a region answers that request with the whole page."""

import pytest

from tests.conftest import client_for

SWAP = {"HTTP_HX_REQUEST": "true"}
RESTORE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}

ORGANISATION_PAGES = ["/leads/", "/activity/", "/team/"]


@pytest.mark.parametrize("path", ORGANISATION_PAGES)
def test_organisation_pages_answer_a_history_restore_with_the_whole_page(acme, owner, path):
    client = client_for(acme, owner)
    swap = client.get(path, **SWAP)
    restore = client.get(path, **RESTORE)
    assert swap.status_code == restore.status_code == 200
    assert b"<html" not in swap.content  # a region only
    assert b"<html" in restore.content


def test_the_pricing_page_answers_a_history_restore_with_the_whole_page(db):
    client = client_for(None)
    assert b"<html" not in client.get("/pricing/", **SWAP).content
    assert b"<html" in client.get("/pricing/", **RESTORE).content
