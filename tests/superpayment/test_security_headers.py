"""Content-Security-Policy on the platform's pages (django-csp), and `Cache-Control: no-store` on
whatever answers a signed-in user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict(response) -> dict[str, list[str]]:
    """The default policy: this origin's scripts only (plus the request's nonce), no inline
    script, no framing."""
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert [v for v in directives["script-src"] if not v.startswith("'nonce-")] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    return directives


def assert_no_store(response) -> None:
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def finance_staff():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="finance")[0])
    TOTP.activate(user, generate_totp_secret())
    return user


def test_portal_pages_send_the_policy_and_no_store(client, merchant_a, owner_a):
    client.force_login(owner_a)
    slug = merchant_a.slug
    for name in ("overview", "keys", "team", "vouchers", "payments", "webhooks", "audit"):
        response = client.get(reverse(f"portal:{name}", kwargs={"slug": slug}))
        assert response.status_code == 200, name
        assert_strict(response)
        assert_no_store(response)


def test_the_page_that_shows_a_new_secret_key_is_not_stored(client, merchant_a, owner_a):
    client.force_login(owner_a)
    url = reverse("portal:keys", kwargs={"slug": merchant_a.slug})
    client.post(url, {"name": "Backend", "kind": "secret", "mode": "test"})

    shown = client.get(url)

    assert b"sk_test_" in shown.content
    assert_no_store(shown)
    assert_strict(shown)


def test_account_pages(client, owner_a):
    anonymous = client.get(reverse("account_login"))
    assert_strict(anonymous)
    client.force_login(owner_a)
    for name in ("account_email", "mfa_index", "account_change_password"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert_strict(response)
        assert_no_store(response)


def test_finance_console(client):
    client.force_login(finance_staff())
    for name in ("finance_home", "finance_invoices", "finance_liability"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert_strict(response)
        assert_no_store(response)


def test_admin_console(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(staff, generate_totp_secret())
    client.force_login(staff)
    for url in (reverse("admin:index"), reverse("admin:tenants_merchant_changelist")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict(response)
        assert_no_store(response)


def test_api_docs_load_their_script_from_a_url_not_inline(client):
    page = client.get("/v1/docs")

    assert page.status_code == 200
    directives = assert_strict(page)
    assert "'unsafe-inline'" not in directives["script-src"]
    html = page.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_an_inline_script_carries_the_nonce_of_its_policy(client, merchant_a, owner_a):
    from django_tenants.utils import schema_context

    from vouchers.jobs import voucher_job_create

    with schema_context(merchant_a.schema_name):
        job = voucher_job_create(count=5, amount=100, currency="EUR", livemode=False)
    client.force_login(owner_a)
    response = client.get(
        reverse("portal:voucher_job", kwargs={"slug": merchant_a.slug, "job_id": job.public_id})
    )

    nonces = [v for v in assert_strict(response)["script-src"] if v.startswith("'nonce-")]
    assert len(nonces) == 1
    assert f'<script nonce="{nonces[0][7:-1]}">' in response.content.decode()


def test_templates_have_no_inline_handlers_styles_or_unnonced_scripts():
    offences = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if not re.search(r"\b(src|nonce)=", tag) and 'type="application/json"' not in tag:
                offences.append((path.name, tag))
        offences += [(path.name, m) for m in re.findall(r"\son[a-z]+=\"", text)]
        offences += [(path.name, m) for m in re.findall(r"\sstyle=\"", text)]
    assert offences == []


def test_the_checkout_frame_and_the_widget_keep_their_own_headers(client, merchant_a, owner_a):
    from tests.checkout.support import SHOP, frame_path, open_session, publishable_key

    session = open_session(client, publishable_key(merchant_a), order_id="CSP-1")
    client.force_login(owner_a)  # a signed-in merchant trying their own checkout
    frame = client.get(frame_path(merchant_a, session["id"]))
    assert policy(frame)["frame-ancestors"] == [SHOP]
    assert frame["Cache-Control"] == "no-store"
    widget = client.get("/widget.js")
    assert widget["Cache-Control"] == "public, max-age=300"
    opened = client.options("/checkout/widget/sessions", HTTP_ORIGIN=SHOP)
    assert opened.status_code == 204
