"""Headless Chromium (driven by Playwright) against a real gunicorn serving the test database.

The browser needs committed data, so the server is a separate process on the test database and
what a browser test creates is committed; each test uses names of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from superpayment.embedded import free_port, wait_for_port
from tests.processes import BIN, ROOT

# Playwright's sync API keeps an event loop on the main thread; the test's own ORM calls are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]


def chromium_executable() -> str | None:
    """A Chromium to drive: CHROMIUM_PATH, the system's, or one installed now.

    As root on Debian it installs the distribution's package; elsewhere it lets Playwright
    download its own build (returns None: Playwright then uses that)."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        return "/usr/bin/chromium"
    subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=True)
    return None


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def mail_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mail")


def web_server(database_url: str, mail_dir: Path, **extra_env: str):
    """A gunicorn of the product on `database_url`; its emails land in `mail_dir`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PUBLIC_BASE_URL": base,
        "WEB_CONCURRENCY": "2",
        **extra_env,
    }
    server = subprocess.Popen(
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
        wait_for_port(port, timeout=30, proc=server)
        yield base
    finally:
        server.terminate()
        server.wait(20)


@pytest.fixture(scope="session")
def live_url(test_database_url, mail_dir):
    """A gunicorn of the product on the test database; its emails land in `mail_dir`."""
    yield from web_server(test_database_url, mail_dir)


def read_mail_to(mail_dir: Path, recipient: str) -> str:
    """The newest email sent to `recipient` (the file backend writes one file per connection)."""
    matches = [
        path.read_text()
        for path in sorted(mail_dir.iterdir(), key=lambda path: path.stat().st_mtime)
        if f"To: {recipient}" in path.read_text()
    ]
    assert matches, f"no email to {recipient} in {mail_dir}"
    return matches[-1]
