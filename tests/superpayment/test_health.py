from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from superpayment.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, wait_for_port
from tests.processes import BIN, ROOT


def test_healthz_answers_without_touching_the_database(client):
    # No database fixture: any query here would raise instead of answering.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_both_servers_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["postgres"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def web_server_on_own_servers(tmp_path: Path):
    """gunicorn serving the app against a PostgreSQL and a Redis this test may stop."""
    postgres = EmbeddedPostgres(tmp_path / "pg", settings={"fsync": "off"})
    redis = EmbeddedRedis(tmp_path / "redis", persistent=False)
    postgres.start()
    redis.start()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis.url,
        "DATABASE_CONNECT_TIMEOUT": "2",
        "WEB_CONCURRENCY": "1",
    }
    web = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "superpayment.wsgi:application",
            "-c",
            "superpayment/gunicorn_conf.py",
        ]
        + ["--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null"],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_for_port(port, timeout=30, proc=web)
        yield f"http://127.0.0.1:{port}", postgres, redis
    finally:
        web.terminate()
        web.wait(20)
        redis.stop()
        postgres.stop()


def test_readyz_is_503_while_postgres_is_down_and_200_once_it_is_back(web_server_on_own_servers):
    base, postgres, _redis = web_server_on_own_servers
    assert _get(f"{base}/readyz")[0] == 200

    postgres.stop()
    status, body = _get(f"{base}/readyz")
    assert status == 503
    assert body["checks"]["postgres"]["status"] == "error"
    assert body["checks"]["redis"]["status"] == "ok"
    assert _get(f"{base}/healthz")[0] == 200  # alive, just not ready

    postgres.start()
    status, body = _get(f"{base}/readyz")
    assert status == 200, body


def test_readyz_is_503_while_redis_is_down(web_server_on_own_servers):
    base, _postgres, redis = web_server_on_own_servers
    redis.stop()
    status, body = _get(f"{base}/readyz")
    assert status == 503
    assert body["checks"]["redis"]["status"] == "error"
    assert body["checks"]["postgres"]["status"] == "ok"
