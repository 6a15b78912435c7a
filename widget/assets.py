"""The built widget as the web process serves it: read once from widget/dist/ (built by
`make run` / `make test` / the image build), or built in memory when dist/ is missing or older
than the source, so a checkout that skipped the build step still serves the current widget."""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from widget.build import DIST, SOURCE, Bundle, bundle_of, gzip_size


@dataclass(frozen=True)
class ServedBundle:
    bundle: Bundle
    code: bytes
    gzipped: bytes


def _served(bundle: Bundle, code: bytes) -> ServedBundle:
    return ServedBundle(bundle=bundle, code=code, gzipped=gzip.compress(code, 9, mtime=0))


@functools.cache
def widget_current() -> ServedBundle:
    source = SOURCE.read_text()
    fresh, code = bundle_of(source)
    manifest = DIST / "manifest.json"
    if manifest.exists():
        built = Bundle(**json.loads(manifest.read_text()))
        path = DIST / built.file
        if built.source_sha256 == fresh.source_sha256 and path.exists():
            return _served(built, path.read_bytes())
    return _served(fresh, code)


@functools.lru_cache(maxsize=32)
def widget_version(version: str, dist: Path = DIST) -> ServedBundle | None:
    """An earlier (or the current) build by its version, for the immutable URL."""
    current = widget_current()
    if version == current.bundle.version:
        return current
    path = dist / f"widget.{version}.js"
    if not re.fullmatch(r"[0-9a-f]{16}", version) or not path.exists():
        return None
    code = path.read_bytes()
    bundle = Bundle(
        version=version,
        file=path.name,
        integrity="sha384-" + base64.b64encode(hashlib.sha384(code).digest()).decode(),
        source_sha256="",
        bytes=len(code),
        gzip_bytes=gzip_size(code),
    )
    return _served(bundle, code)
