"""Container health probe: `python -m superpayment.healthcheck` exits 0 when /healthz answers 200.

The image's HEALTHCHECK and docker-compose run it inside the web container, so the image needs no
curl. It calls the local gunicorn (PORT, or the port of GUNICORN_BIND) with a Host header taken
from ALLOWED_HOSTS: production answers 400 to a host it does not serve, probes included.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from superpayment.env import env_list

DEFAULT_PORT = "8000"
TIMEOUT_SECONDS = 4.0


def probe_host(allowed_hosts: list[str]) -> str:
    """A Host that ALLOWED_HOSTS accepts: its first entry (".example.com" -> "example.com")."""
    for host in allowed_hosts:
        if host == "*":
            break
        return host.lstrip(".")
    return "localhost"


def probe_port() -> str:
    bind = os.environ.get("GUNICORN_BIND", "")
    if bind and not bind.startswith("unix:") and ":" in bind:
        return bind.rsplit(":", 1)[1]
    return os.environ.get("PORT", DEFAULT_PORT)


def main() -> int:
    url = f"http://127.0.0.1:{probe_port()}/healthz"
    host = probe_host(env_list("ALLOWED_HOSTS"))
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        print(f"healthcheck: {url} (Host: {host}) failed: {error}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"healthcheck: {url} (Host: {host}) answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
