"""The SSRF guard refuses every non-public target at connect time, whatever form it takes."""

from __future__ import annotations

import pytest

from tests.webhooks.support import Receiver, Reply
from webhooks import http, ssrf
from webhooks.endpoints import endpoint_create
from webhooks.errors import WebhookError

pytestmark = pytest.mark.django_db

REFUSED = [
    "https://127.0.0.1/hooks",
    "https://localhost/hooks",
    "https://shop.localhost/hooks",
    "https://10.0.0.1/hooks",
    "https://172.16.5.4/hooks",
    "https://192.168.1.10/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/hooks",
    "https://0.0.0.0/hooks",
    "https://224.0.0.1/hooks",
    "https://240.0.0.1/hooks",
    "https://[::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[::ffff:8.8.8.8]/hooks",
    "https://[fe80::1]/hooks",
    "https://[fc00::1]/hooks",
    "https://2130706433/hooks",
    "https://0x7f000001/hooks",
    "https://0177.0.0.1/hooks",
    "https://127.1/hooks",
    "https://0x7f.0.0.1/hooks",
]


@pytest.fixture
def guard_on(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False


@pytest.fixture
def no_dns(monkeypatch):
    """Literal addresses must be refused before (or without) any lookup; names resolve here."""
    answers = {"hooks.example.com": ["93.184.215.14"], "internal.example.com": ["10.1.2.3"]}
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: answers.get(host) or [host])
    return answers


@pytest.mark.parametrize("url", REFUSED)
def test_connect_time_check_refuses(guard_on, no_dns, url):
    with pytest.raises(WebhookError) as refused:
        ssrf.target_resolve(url)
    assert refused.value.code == "url_refused"


@pytest.mark.parametrize("url", REFUSED)
def test_sending_to_a_refused_target_never_connects(guard_on, no_dns, monkeypatch, url):
    monkeypatch.setattr(http, "_pool", lambda target: pytest.fail("must not connect"))
    result = http.post(url=url, body=b"{}", headers={})
    assert result.status_code is None
    assert result.error.startswith("The URL")


def test_a_hostname_resolving_to_a_private_address_is_refused(guard_on, no_dns):
    with pytest.raises(WebhookError) as refused:
        ssrf.target_resolve("https://internal.example.com/hooks")
    assert refused.value.message == ("The URL's host resolves to a private address (10.1.2.3).")


def test_a_name_with_any_private_answer_is_refused(guard_on, monkeypatch):
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["93.184.215.14", "127.0.0.1"])
    with pytest.raises(WebhookError):
        ssrf.target_resolve("https://rebind.example.com/")


def test_a_public_name_connects_to_the_address_that_was_checked(guard_on, no_dns):
    target = ssrf.target_resolve("https://hooks.example.com:8443/in?x=1")
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https",
        "hooks.example.com",
        8443,
        "/in?x=1",
        "93.184.215.14",
    )
    pool = http._pool(target)
    assert (pool.host, pool.port) == ("93.184.215.14", 8443)
    assert pool.conn_kw["server_hostname"] == "hooks.example.com"
    assert pool.assert_hostname == "hooks.example.com"


def test_plain_http_is_refused_with_the_guard_on(guard_on, no_dns):
    with pytest.raises(WebhookError) as refused:
        ssrf.target_resolve("http://hooks.example.com/")
    assert refused.value.message == "The URL must use https://."


@pytest.mark.parametrize(
    "url", ["https://10.0.0.1/h", "https://localhost/h", "https://2130706433/h", "http://a.b/"]
)
def test_saving_a_refused_url_fails(guard_on, in_merchant_a, url):
    with pytest.raises(WebhookError) as refused:
        endpoint_create(url=url, enabled_events=["*"], livemode=False)
    assert refused.value.code == "url_refused"


def test_the_guard_off_allows_local_receivers(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    target = ssrf.target_resolve("http://127.0.0.1:9/hooks")
    assert target.address == "127.0.0.1"


def test_a_redirect_to_a_private_address_is_not_followed(guard_on, monkeypatch):
    """The receiver passed the check (as a public host would); it answers with a redirect to
    a private address. The redirect is a failed attempt; nothing else is requested."""
    with Receiver() as receiver:
        receiver.default = Reply(status=307, headers={"Location": "http://10.0.0.1/admin"})
        port = receiver.server.server_address[1]
        checked = ssrf.Target("http", "hooks.example.com", port, "/hooks", "127.0.0.1")
        monkeypatch.setattr(http, "target_resolve", lambda url: checked)
        result = http.post(url="https://hooks.example.com/hooks", body=b"{}", headers={})
        assert result.status_code == 307
        assert [r.path for r in receiver.requests] == ["/hooks"]
        assert receiver.requests[0].headers["host"] == f"hooks.example.com:{port}"


# IPv6 spellings that embed a non-public IPv4 address (127.0.0.1, 10.0.0.1, 192.168.0.1, …).
EMBEDDING = [
    "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "https://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
    "https://[2002:c0a8:1::1]/",  # 6to4 of 192.168.0.1
    "https://[2002:a9fe:a9fe::]/",  # 6to4 of 169.254.169.254
    "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    "https://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "https://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "https://[64:ff9b:1::a00:1]/",  # local-use NAT64
    "https://[::7f00:1]/",  # IPv4-compatible 127.0.0.1
    "https://[::a00:1]/",  # IPv4-compatible 10.0.0.1
    "https://[::ffff:7f00:1]/",  # IPv4-mapped 127.0.0.1
    "https://[::ffff:a00:1]/",  # IPv4-mapped 10.0.0.1
]


@pytest.mark.parametrize("url", EMBEDDING)
def test_an_address_embedding_a_private_one_is_refused_at_connect_time(guard_on, no_dns, url):
    with pytest.raises(WebhookError) as refused:
        ssrf.target_resolve(url)
    assert refused.value.code == "url_refused"


@pytest.mark.parametrize("url", EMBEDDING)
def test_an_address_embedding_a_private_one_is_refused_at_save_time(guard_on, in_merchant_a, url):
    with pytest.raises(WebhookError) as refused:
        endpoint_create(url=url, enabled_events=["*"], livemode=False)
    assert refused.value.code == "url_refused"


@pytest.mark.parametrize(
    "address", ["2002:7f00:1::", "2002:a00:1::", "::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::1"]
)
def test_a_name_resolving_to_an_embedding_address_is_refused(guard_on, monkeypatch, address):
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: [address])
    with pytest.raises(WebhookError) as refused:
        ssrf.target_resolve("https://rebind.example.com/")
    assert refused.value.code == "url_refused"


def test_the_6to4_refusal_says_what_it_embeds():
    assert ssrf.address_refusal("2002:7f00:1::") == (
        "a 6to4 address embedding a loopback address (127.0.0.1)"
    )
    assert ssrf.address_refusal("2002:a00:1::") == (
        "a 6to4 address embedding a private address (10.0.0.1)"
    )


def test_a_6to4_address_of_a_public_one_is_allowed(guard_on, no_dns):
    assert ssrf.address_refusal("2002:808:808::1") is None  # 6to4 of 8.8.8.8
    assert ssrf.target_resolve("https://[2002:808:808::1]/").address == "2002:808:808::1"
