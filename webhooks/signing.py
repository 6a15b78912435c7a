"""Standard Webhooks signatures (https://www.standardwebhooks.com), made with its own package."""

from __future__ import annotations

from datetime import datetime

from standardwebhooks.webhooks import Webhook


def signature_header(*, secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """`v1,<sig>` per secret, space-separated: during a rotation's overlap the new and the old
    secret both sign, so a receiver holding either one verifies."""
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body) for secret in secrets
    )


def request_headers(*, secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> dict:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(
            secrets=secrets, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }
