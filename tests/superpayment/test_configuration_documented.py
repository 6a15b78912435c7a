"""Every environment variable the settings read is in the README's configuration table."""

from __future__ import annotations

import re

from tests.processes import ROOT


def test_every_setting_read_from_the_environment_is_documented():
    names: set[str] = set()
    for path in (ROOT / "superpayment").glob("*.py"):
        source = path.read_text()
        names |= set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', source))
        names |= set(re.findall(r'os\.environ\.get\(\s*"([A-Z0-9_]+)"', source))
    names -= {"DJANGO_SETTINGS_MODULE"}
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} <= names
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") : readme.index("## Deploying")]
    missing = sorted(name for name in names if f"`{name}`" not in table)
    assert not missing, f"add to the README's configuration table: {missing}"
