"""The embedded PostgreSQL started again as the supervisor does after a crash: the install is
found, and (as root) opened to the server's system user, once per server, not per probe or start."""

from __future__ import annotations

import importlib.util
import os
import pathlib

from superpayment.embedded import EmbeddedPostgres, kill_process_group


def test_a_restarted_server_locates_and_prepares_its_install_once(tmp_path, monkeypatch):
    lookups: list[str] = []
    find_spec = importlib.util.find_spec

    def counting_find_spec(name: str, *args, **kwargs):
        lookups.append(name)
        return find_spec(name, *args, **kwargs)

    chmods: list[pathlib.Path] = []
    chmod = pathlib.Path.chmod

    def counting_chmod(path: pathlib.Path, *args, **kwargs):
        chmods.append(path)
        return chmod(path, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", counting_find_spec)
    monkeypatch.setattr(pathlib.Path, "chmod", counting_chmod)
    postgres = EmbeddedPostgres(tmp_path / "pg", settings={"fsync": "off"})
    try:
        postgres.start()
        # A crash: the server and its backends die at once and leave postmaster.pid behind,
        # so the next start also stops a stale server first.
        kill_process_group(postgres.process)
        postgres.start()
        assert postgres.psql("SELECT 1").strip() == "1"
    finally:
        postgres.stop()
    assert lookups.count("pgserver") == 1
    server_binary = postgres.bindir / "postgres"
    assert chmods.count(server_binary) == (1 if os.geteuid() == 0 else 0)
