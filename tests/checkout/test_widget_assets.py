"""widget.js as served: the size budget, cache headers, cross-origin headers, SRI."""

from __future__ import annotations

import base64
import gzip
import hashlib

import pytest

from widget.assets import widget_current
from widget.build import SIZE_BUDGET_GZIP_BYTES, SOURCE, bundle_of, gzip_size

pytestmark = pytest.mark.django_db


def test_the_loader_stays_within_its_size_budget():
    bundle, code = bundle_of(SOURCE.read_text())
    assert gzip_size(code) == bundle.gzip_bytes
    assert bundle.gzip_bytes <= SIZE_BUDGET_GZIP_BYTES == 6 * 1024
    assert bundle.bytes < len(SOURCE.read_bytes())  # minified


def test_the_loader_url_is_cached_for_five_minutes_and_readable_cross_origin(client):
    response = client.get("/widget.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.content == widget_current().code
    assert b"superpayment:" in response.content


def test_gzip_and_etag(client):
    zipped = client.get("/widget.js", HTTP_ACCEPT_ENCODING="gzip, br")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == widget_current().code
    again = client.get("/widget.js", HTTP_IF_NONE_MATCH=zipped["ETag"])
    assert again.status_code == 304


def test_the_versioned_url_is_immutable_and_matches_its_published_integrity(client):
    manifest = client.get("/widget.json").json()
    version = manifest["version"]
    assert manifest["url"].endswith(f"/widget.{version}.js")

    response = client.get(f"/widget.{version}.js")

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
    assert manifest["integrity"] == f"sha384-{digest}"
    assert hashlib.sha256(response.content).hexdigest()[:16] == version
    assert client.get("/widget.0000000000000000.js").status_code == 404
