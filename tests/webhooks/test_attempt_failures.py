"""Each failed attempt says what happened, against real sockets: a closed port is a refusal (not
a timeout), a name that does not resolve a DNS failure, a certificate or protocol mismatch a TLS
error, a receiver that never answers a timeout, an answer its HTTP status."""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_tenants.utils import schema_context

from tests.webhooks.test_http import _tls_for_127_0_0_1
from webhooks import http
from webhooks.delivery import delivery_attempt
from webhooks.endpoints import endpoint_create
from webhooks.models import DeliveryAttempt
from webhooks.services import event_record

TIMEOUT = 1.0


@pytest.fixture(autouse=True)
def _private_and_short(settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr(http, "TIMEOUT_SECONDS", TIMEOUT)


def _closed_port() -> int:
    """A port that was just free: nothing listens on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Silent:
    """Accepts connections and reads the request, never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


class _Answering:
    """A plain HTTP server answering `status`, optionally over TLS with `tls`."""

    def __init__(self, status: int, tls: ssl.SSLContext | None = None) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _post(url: str) -> http.SendResult:
    return http.post(url=url, body=b"{}", headers={})


def test_a_closed_port_is_a_refusal_not_a_timeout():
    result = _post(f"http://127.0.0.1:{_closed_port()}/hooks")
    assert (result.status_code, result.failure) == (None, "refused")
    assert result.error == "connection refused: nothing accepts connections on that port"


def test_a_name_that_does_not_resolve_is_a_dns_failure():
    result = _post("http://no-such-receiver.invalid/hooks")
    assert (result.status_code, result.failure) == (None, "dns")
    assert result.error.startswith("DNS lookup failed: The URL's host does not resolve")


def test_an_untrusted_certificate_is_a_tls_error(tmp_path):
    tls, _cert_file = _tls_for_127_0_0_1(tmp_path)  # not in the sender's trust store
    receiver = _Answering(200, tls=tls)
    try:
        result = _post(f"https://127.0.0.1:{receiver.port}/hooks")
    finally:
        receiver.close()
    assert (result.status_code, result.failure) == (None, "tls")
    assert result.error.startswith("TLS error:") and "CERTIFICATE_VERIFY_FAILED" in result.error


def test_https_to_a_plain_http_receiver_is_a_tls_error():
    receiver = _Answering(200)
    try:
        result = _post(f"https://127.0.0.1:{receiver.port}/hooks")
    finally:
        receiver.close()
    assert (result.status_code, result.failure) == (None, "tls")
    assert result.error.startswith("TLS error:"), result.error


def test_a_receiver_that_never_answers_is_a_timeout():
    receiver = _Silent()
    try:
        result = _post(f"http://127.0.0.1:{receiver.port}/hooks")
    finally:
        receiver.close()
    assert (result.status_code, result.failure) == (None, "timeout")
    assert result.error.startswith("timed out after 1 s"), result.error


def test_an_answer_is_recorded_with_its_status():
    receiver = _Answering(503)
    try:
        result = _post(f"http://127.0.0.1:{receiver.port}/hooks")
    finally:
        receiver.close()
    assert (result.status_code, result.failure, result.error) == (503, "status", "")


@pytest.mark.django_db
def test_the_delivery_log_records_a_refusal_as_a_refusal(merchant_a):
    with schema_context(merchant_a.schema_name):
        endpoint_create(
            url=f"http://127.0.0.1:{_closed_port()}/hooks", enabled_events=["*"], livemode=False
        )
        event = event_record(
            event_type="payment.succeeded",
            data_object={"id": "pay_1", "object": "payment", "version": 1},
            livemode=False,
        )
        (delivery,) = event.deliveries.all()

        assert delivery_attempt(delivery_id=delivery.pk) == "retry_scheduled"

        (attempt,) = DeliveryAttempt.objects.filter(delivery=delivery)
    assert (attempt.status_code, attempt.succeeded) == (None, False)
    assert attempt.error == "connection refused: nothing accepts connections on that port"
