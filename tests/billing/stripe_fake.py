"""A local HTTP server standing in for the few Stripe endpoints billing uses. It records the
form-encoded requests the real `stripe` SDK sends and answers Stripe-shaped JSON."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


class FakeStripe:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_paths: set[str] = set()
        self._ids = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = dict(parse_qsl(body, keep_blank_values=True))
                record = {
                    "path": self.path,
                    "form": form,
                    "idempotency_key": self.headers.get("Idempotency-Key"),
                    "authorization": self.headers.get("Authorization"),
                }
                fake.requests.append(record)
                status, payload = fake.answer(self.path, form)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}_fake{self._ids:04d}"

    def answer(self, path: str, form: dict) -> tuple[int, dict]:
        if any(path.startswith(p) for p in self.fail_paths):
            return 402, {"error": {"type": "card_error", "message": "Refused by the fake."}}
        if path == "/v1/customers":
            return 200, {"id": self._id("cus"), "object": "customer", "name": form.get("name")}
        if path == "/v1/invoices":
            return 200, {
                "id": self._id("in"),
                "object": "invoice",
                "status": "draft",
                "customer": form.get("customer"),
                "currency": form.get("currency"),
                "hosted_invoice_url": None,
            }
        if path == "/v1/invoiceitems":
            return 200, {
                "id": self._id("ii"),
                "object": "invoiceitem",
                "amount": int(form["amount"]),
                "invoice": form.get("invoice"),
            }
        if path.startswith("/v1/invoices/") and path.endswith("/finalize"):
            invoice_id = path.split("/")[3]
            return 200, {
                "id": invoice_id,
                "object": "invoice",
                "status": "open",
                "hosted_invoice_url": f"https://invoice.stripe.test/i/{invoice_id}",
            }
        if path.startswith("/v1/invoices/") and path.endswith("/pay"):
            invoice_id = path.split("/")[3]
            return 200, {"id": invoice_id, "object": "invoice", "status": "paid"}
        if path.startswith("/v1/invoices/") and path.endswith(("/void", "/mark_uncollectible")):
            invoice_id = path.split("/")[3]
            status = "void" if path.endswith("/void") else "uncollectible"
            return 200, {"id": invoice_id, "object": "invoice", "status": status}
        return 404, {"error": {"type": "invalid_request_error", "message": f"No route {path}"}}


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """`Stripe-Signature` exactly as Stripe computes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def stripe_event(event_id: str, event_type: str, invoice_id: str, **obj) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "api_version": "2025-01-27",
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": {"id": invoice_id, "object": "invoice", **obj}},
        }
    ).encode()
