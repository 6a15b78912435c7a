"""Counting network round trips to PostgreSQL, as they happen on the wire.

`RoundTripProxy` is a TCP proxy between one Django connection and the test PostgreSQL; one
thread forwards both directions, so it sees the order of the bytes: a round trip is counted each
time the server answers after the client sent something (however many statements the client
sent before it waited, and however the answer is split into packets).
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connections
from django_tenants.utils import schema_context

T = TypeVar("T")


class RoundTripProxy:
    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.round_trips = 0
        self.client_sends = 0
        self._client_spoke = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        self.round_trips = 0
        self.client_sends = 0

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        host, port = self.upstream
        if host.startswith("/"):  # a Unix-domain socket's directory, as libpq names it
            server = socket.socket(socket.AF_UNIX)
            server.connect(f"{host}/.s.PGSQL.{port}")
        else:
            server = socket.create_connection(self.upstream)
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, (client, server, True))
        selector.register(server, selectors.EVENT_READ, (server, client, False))
        with client, server:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.1):
                    source, target, from_client = key.data
                    data = source.recv(65536)
                    if not data:
                        return
                    if from_client:
                        self.client_sends += 1
                        self._client_spoke = True
                    elif self._client_spoke:
                        self.round_trips += 1
                        self._client_spoke = False
                    target.sendall(data)


def through_proxy(fn: Callable[[RoundTripProxy], T], schema_name: str) -> T:
    """Run `fn(proxy)` in a thread whose Django connection goes through a `RoundTripProxy` (so
    what it writes is committed, as a web worker's would be)."""
    outcome: dict[str, object] = {}

    def target() -> None:
        wrapper = connections["default"]
        settings = wrapper.settings_dict
        proxy = RoundTripProxy(settings["HOST"] or "127.0.0.1", int(settings["PORT"]))
        wrapper.settings_dict = {**settings, "HOST": "127.0.0.1", "PORT": str(proxy.port)}
        try:
            with schema_context(schema_name):
                outcome["value"] = fn(proxy)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()
            wrapper.settings_dict = settings
            proxy.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
