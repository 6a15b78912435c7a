"""Build widget.js: minify (rjsmin, pure Python: no npm), content-hash, write to widget/dist/.

    python -m widget.build

writes `dist/widget.js` (served at the stable loader URL /widget.js), `dist/widget.<hash>.js`
(the immutable versioned URL /widget.<hash>.js; earlier versions are kept, so pinned pages keep
working) and `dist/manifest.json` (version, file, SRI integrity, gzipped size).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import rjsmin

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT / "src" / "widget.js"
DIST = ROOT / "dist"
HASH_LENGTH = 16
# The loader's size budget, gzipped (tests/checkout/test_widget_assets.py enforces it).
SIZE_BUDGET_GZIP_BYTES = 6 * 1024


@dataclass(frozen=True)
class Bundle:
    version: str
    file: str
    integrity: str
    source_sha256: str
    bytes: int
    gzip_bytes: int


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def minify(source: str) -> bytes:
    return rjsmin.jsmin(source, keep_bang_comments=False).strip().encode() + b"\n"


def bundle_of(source: str) -> tuple[Bundle, bytes]:
    code = minify(source)
    version = hashlib.sha256(code).hexdigest()[:HASH_LENGTH]
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(code).digest()).decode()
    bundle = Bundle(
        version=version,
        file=f"widget.{version}.js",
        integrity=integrity,
        source_sha256=hashlib.sha256(source.encode()).hexdigest(),
        bytes=len(code),
        gzip_bytes=gzip_size(code),
    )
    return bundle, code


def build(dist: Path = DIST) -> Bundle:
    bundle, code = bundle_of(SOURCE.read_text())
    dist.mkdir(parents=True, exist_ok=True)
    (dist / bundle.file).write_bytes(code)
    (dist / "widget.js").write_bytes(code)
    (dist / "manifest.json").write_text(json.dumps(asdict(bundle), indent=2) + "\n")
    return bundle


def main() -> int:
    bundle = build()
    print(
        f"widget.js {bundle.version}: {bundle.bytes} bytes, {bundle.gzip_bytes} gzipped "
        f"(budget {SIZE_BUDGET_GZIP_BYTES}); {bundle.integrity}"
    )
    return 0 if bundle.gzip_bytes <= SIZE_BUDGET_GZIP_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
