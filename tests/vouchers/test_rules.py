"""Rules and metadata are checked against their declared shapes before anything is stored."""

from __future__ import annotations

import pytest

from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.rules import (
    RULES_SCHEMA,
    voucher_metadata_validate,
    voucher_redemption_limit,
    voucher_rules_validate,
)


def test_every_declared_rule_is_accepted():
    rules = {
        "min_order_amount": 0,
        "max_redemptions": 3,
        "single_use": False,
        "order_id_prefix": "SHOP-",
    }
    assert voucher_rules_validate(rules) == rules
    assert set(RULES_SCHEMA) == set(rules)
    assert voucher_rules_validate(None) == {}


def test_an_unknown_rule_is_refused_by_name():
    with pytest.raises(VoucherError) as caught:
        voucher_rules_validate({"max_redemptions": 2, "first_order_only": True})
    assert caught.value.code == VoucherErrorCode.RULES_INVALID
    assert caught.value.param == "rules.first_order_only"
    assert "Unknown rule 'first_order_only'" in caught.value.message
    assert "min_order_amount, max_redemptions, single_use, order_id_prefix" in caught.value.message


@pytest.mark.parametrize(
    ("rules", "param"),
    [
        ({"min_order_amount": -1}, "rules.min_order_amount"),
        ({"min_order_amount": "100"}, "rules.min_order_amount"),
        ({"min_order_amount": 1.5}, "rules.min_order_amount"),
        ({"min_order_amount": True}, "rules.min_order_amount"),
        ({"max_redemptions": 0}, "rules.max_redemptions"),
        ({"single_use": 1}, "rules.single_use"),
        ({"order_id_prefix": ""}, "rules.order_id_prefix"),
        ({"order_id_prefix": "x" * 65}, "rules.order_id_prefix"),
        ({"order_id_prefix": 12}, "rules.order_id_prefix"),
        (["single_use"], "rules"),
    ],
)
def test_rules_of_the_wrong_shape_are_refused(rules, param):
    with pytest.raises(VoucherError) as caught:
        voucher_rules_validate(rules)
    assert caught.value.code == VoucherErrorCode.RULES_INVALID
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("rules", "limit"),
    [
        ({}, 2**31 - 1),
        ({"max_redemptions": 5}, 5),
        ({"single_use": True}, 1),
        ({"single_use": True, "max_redemptions": 5}, 1),
        ({"single_use": False, "max_redemptions": 5}, 5),
    ],
)
def test_redemption_limit_follows_max_redemptions_and_single_use(rules, limit):
    assert voucher_redemption_limit(rules) == limit


def test_metadata_at_its_caps_is_accepted():
    metadata = {f"k{i:02d}" + "x" * 37: "v" * 100 for i in range(50)}  # 7.3 KB as JSON
    assert all(len(key) == 40 for key in metadata)
    assert voucher_metadata_validate(metadata) == metadata
    assert voucher_metadata_validate({"note": "v" * 500}) == {"note": "v" * 500}


@pytest.mark.parametrize(
    ("metadata", "param"),
    [
        ({f"k{i}": "v" for i in range(51)}, "metadata"),
        ({"x" * 41: "v"}, "metadata"),
        ({"": "v"}, "metadata"),
        ({"note": "v" * 501}, "metadata.note"),
        ({"count": 3}, "metadata.count"),
        ({f"k{i}": "v" * 500 for i in range(20)}, "metadata"),  # 10 KB in all
        ("note", "metadata"),
    ],
)
def test_metadata_over_its_caps_is_refused(metadata, param):
    with pytest.raises(VoucherError) as caught:
        voucher_metadata_validate(metadata)
    assert caught.value.code == VoucherErrorCode.METADATA_INVALID
    assert caught.value.param == param
