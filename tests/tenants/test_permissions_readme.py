"""The role matrix the README shows is the one the portal enforces."""

from __future__ import annotations

from tenants.permissions import PERMISSIONS, Perm
from tests.processes import ROOT

README_ROWS = {
    "view the dashboard, vouchers, payments": {Perm.VIEW},
    "manage vouchers, refund payments": {Perm.MANAGE_VOUCHERS, Perm.REFUND},
    "see and manage API keys and webhook endpoints": {Perm.MANAGE_KEYS, Perm.MANAGE_WEBHOOKS},
    "read commission invoices, the audit log": {Perm.VIEW_BILLING, Perm.VIEW_AUDIT},
    "invite members, change roles, remove members": {Perm.MANAGE_TEAM},
}
ROLES = ["owner", "admin", "developer", "viewer"]


def _readme_matrix() -> dict[str, list[bool]]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| | owner | admin | developer | viewer |") :].split("\n\n")[0]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0]] = [cell == "✓" for cell in cells[1:]]
    return rows


def test_readme_role_matrix_matches_the_enforced_permissions():
    matrix = _readme_matrix()
    assert set(matrix) == set(README_ROWS)
    for row, perms in README_ROWS.items():
        expected = [perms <= PERMISSIONS[role] for role in ROLES]
        assert matrix[row] == expected, row
    # Every permission the portal checks appears in the README.
    assert set().union(*README_ROWS.values()) == set(Perm)
