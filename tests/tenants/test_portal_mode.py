"""The portal's test/live mode: one labelled switch in the header, remembered per merchant, and
a test-mode banner on every page while viewing test data."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import Merchant

pytestmark = pytest.mark.django_db

PAGES = ["overview", "vouchers", "payments", "webhooks", "keys", "team", "audit", "billing"]


def _get(client, merchant, page: str, query: str = "") -> str:
    response = client.get(reverse(f"portal:{page}", kwargs={"slug": merchant.slug}) + query)
    assert response.status_code == 200, page
    return response.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_the_test_banner_and_the_switch_in_test_mode(
    client, merchant_a, owner_a, page
):
    client.force_login(owner_a)
    html = _get(client, merchant_a, page, "?mode=test")
    assert 'id="test-mode-banner"' in html
    assert 'role="switch"' in html and 'aria-checked="true"' in html
    assert '<span class="mode-label">Test mode</span>' in html
    live = _get(client, merchant_a, page, "?mode=live")
    assert 'id="test-mode-banner"' not in live
    assert 'aria-checked="false"' in live


def test_the_mode_is_remembered_across_pages_per_merchant(client, merchant_a, merchant_b):
    from tests.conftest import member_of
    from tests.factories import MembershipFactory

    owner = member_of(merchant_a, "owner")
    MembershipFactory(merchant=merchant_b, user=owner, role="owner")
    client.force_login(owner)

    _get(client, merchant_a, "payments", "?mode=live")

    assert 'id="test-mode-banner"' not in _get(client, merchant_a, "vouchers")
    assert 'id="test-mode-banner"' not in _get(client, merchant_a, "team")
    # Another business keeps its own mode (test, the default).
    assert 'id="test-mode-banner"' in _get(client, merchant_b, "vouchers")
    _get(client, merchant_a, "team", "?mode=test")
    assert 'id="test-mode-banner"' in _get(client, merchant_a, "payments")


def test_live_mode_before_activation_says_how_to_activate(client, merchant_a, owner_a):
    Merchant.objects.filter(pk=merchant_a.pk).update(live_activated_at=None)
    client.force_login(owner_a)
    test = _get(client, merchant_a, "vouchers", "?mode=test")
    live = _get(client, merchant_a, "vouchers", "?mode=live")
    activation = reverse("portal:live_activation", kwargs={"slug": merchant_a.slug})
    assert f'href="{activation}"' in test
    assert 'id="live-inactive-banner"' in live and f'href="{activation}"' in live


def test_an_objects_page_shows_the_objects_mode(client, merchant_a, owner_a):
    from django_tenants.utils import schema_context

    from vouchers.services import voucher_issue

    with schema_context(merchant_a.schema_name):
        live = voucher_issue(currency="EUR", amount=500, livemode=True)
    client.force_login(owner_a)
    _get(client, merchant_a, "vouchers", "?mode=test")

    url = reverse(
        "portal:voucher_detail", kwargs={"slug": merchant_a.slug, "voucher_id": live.public_id}
    )
    html = client.get(url).content.decode()

    assert 'id="test-mode-banner"' not in html and 'aria-checked="false"' in html
    # Switching there leads to the test vouchers, not to the same live voucher.
    vouchers = reverse("portal:vouchers", kwargs={"slug": merchant_a.slug})
    assert f'class="mode-switch" action="{vouchers}"' in html
