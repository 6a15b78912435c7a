"""One attempt has a hard deadline, whatever pace the receiver answers at (real sockets on
127.0.0.1, plain and TLS)."""

from __future__ import annotations

import datetime
import ipaddress
import multiprocessing
import socketserver
import ssl
import threading
import time
from pathlib import Path

import pytest

from webhooks import http

TIMEOUT = 1.0
STEP = 0.2  # the trickling receiver sends one byte this often
TRICKLE_FOR = 10.0  # ... and stops after this long: a missing deadline fails, not hangs
FAST_DELAY = 0.4


class RawReceiver:
    """HTTP/1.1 written by hand. /fast answers after FAST_DELAY and keeps the connection alive;
    /headers sends the status line, then one header byte every STEP; /body sends complete
    headers (Content-Length: 100000), then one body byte every STEP. `served` records
    (path, connection number) per request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.served: list[tuple[str, int]] = []
        self.gone = threading.Event()  # a trickle was stopped by the sender going away
        self.connections = 0
        lock = threading.Lock()
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def setup(self) -> None:
                if tls is not None:
                    self.request = tls.wrap_socket(self.request, server_side=True)
                super().setup()

            def handle(self) -> None:
                with lock:
                    receiver.connections += 1
                    number = receiver.connections
                try:
                    while path := self._request():
                        receiver.served.append((path, number))
                        if path == "/fast":
                            time.sleep(FAST_DELAY)
                            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        else:
                            self._trickle(path)
                            return
                except OSError:
                    pass

            def _request(self) -> str:
                request_line = self.rfile.readline()
                if not request_line:
                    return ""
                length = 0
                while (line := self.rfile.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                self.rfile.read(length)
                return request_line.split()[1].decode()

            def _trickle(self, path: str) -> None:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                if path == "/headers":
                    self.wfile.write(b"X-Slow: ")
                else:
                    self.wfile.write(b"Content-Length: 100000\r\n\r\n")
                stop = time.monotonic() + TRICKLE_FOR
                try:
                    while time.monotonic() < stop:
                        time.sleep(STEP)
                        self.wfile.write(b"a")
                except OSError:
                    receiver.gone.set()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "https" if tls else "http"

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self) -> RawReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _tls_for_127_0_0_1(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a self-signed certificate for 127.0.0.1, and that certificate's
    file (for the sender to trust)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


@pytest.fixture(params=["http", "https"])
def raw_receiver(request, settings, monkeypatch, tmp_path):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr(http, "TIMEOUT_SECONDS", TIMEOUT)
    tls = None
    if request.param == "https":
        tls, cert_file = _tls_for_127_0_0_1(tmp_path)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # the sender's default trust store
    with RawReceiver(tls) as receiver:
        yield receiver


def _timed_post(url: str) -> tuple[http.SendResult, float]:
    started = time.monotonic()
    result = http.post(url=url, body=b"{}", headers={})
    return result, time.monotonic() - started


@pytest.mark.parametrize("path", ["/headers", "/body"])
def test_a_trickling_receiver_is_cut_at_the_deadline(raw_receiver, path):
    result, elapsed = _timed_post(raw_receiver.url(path))
    assert TIMEOUT <= elapsed < 5
    assert result.status_code is None
    assert result.error.startswith("timed out after 1 s"), result.error
    # The cut connection was closed, not left open (nor handed back to the pool).
    assert raw_receiver.gone.wait(5)


def test_kept_alive_requests_after_a_cut_are_not_cut(raw_receiver):
    """Through the same pool: the cut connection is replaced, and the next attempts share one
    kept-alive connection; the first one's deadline falls during the third and cuts nothing."""
    assert _timed_post(raw_receiver.url("/headers"))[0].status_code is None
    results = [_timed_post(raw_receiver.url("/fast")) for _ in range(3)]
    assert [(r.status_code, r.error, r.response_body) for r, _ in results] == [(200, "", "ok")] * 3
    assert sum(elapsed for _, elapsed in results) > TIMEOUT
    assert raw_receiver.served == [("/headers", 1)] + [("/fast", 2)] * 3


def _post_in_child(url: str, results) -> None:
    result, elapsed = _timed_post(url)
    results.put((result.status_code, result.error, elapsed))


def test_a_forked_process_cuts_its_own_attempts(raw_receiver):
    """The watchdog thread does not survive a fork: the child starts its own."""
    assert _timed_post(raw_receiver.url("/fast"))[0].status_code == 200  # the parent's watchdog
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_post_in_child, args=(raw_receiver.url("/headers"), results))
    child.start()
    status_code, error, elapsed = results.get(timeout=30)
    child.join(10)
    assert status_code is None
    assert error.startswith("timed out after 1 s"), error
    assert TIMEOUT <= elapsed < 5
