"""Invoice run: 10,000 merchants and 1,000,000 commission entries billed in one run.

Data is generated with set-based SQL (generate_series) inside one transaction that is rolled
back at the end, so the database is left as it was. Merchant rows are plain public rows (the
run reads only the public ledger). Anchor: one plain `SELECT sum(amount) … GROUP BY merchant,
currency` over the same entries, in the same run.
"""

from __future__ import annotations

import time
from datetime import date

from django.db import connection, transaction

from billing.invoicing import invoice_run

MERCHANTS = 10_000
ENTRIES = 1_000_000
PERIOD = date(2001, 1, 1)

MERCHANT_ROWS = """
INSERT INTO tenants_merchant (schema_name, slug, name, country, default_currency, status,
                              is_template, created_at)
SELECT 'bench_bill_' || g, 'bench-bill-' || g, 'Bench merchant ' || g, 'DE', 'EUR', 'active',
       false, now()
FROM generate_series(1, %(merchants)s) g
"""

ENTRY_ROWS = """
INSERT INTO billing_commissionentry (merchant_id, kind, payment_id, refund_id, currency,
    livemode, occurred_at, base_amount, amount, plan_id, plan_name, bps, fixed_fee, invoice_id,
    created_at)
SELECT m.id,
       CASE WHEN g %% 10 = 0 THEN 'reversal' ELSE 'charge' END,
       'pay_bench_' || g,
       CASE WHEN g %% 10 = 0 THEN 're_bench_' || g END,
       CASE WHEN g %% 7 = 0 THEN 'USD' ELSE 'EUR' END,
       g %% 50 <> 0,
       timestamptz '2001-01-01 00:00+00' + (g %% 2678400) * interval '1 second',
       1000 + g %% 9000,
       CASE WHEN g %% 10 = 0 THEN -(10 + g %% 100) ELSE 35 + g %% 150 END,
       NULL, 'Standard', 150, 20, NULL, now()
FROM generate_series(1, %(entries)s) g
JOIN LATERAL (SELECT id FROM bench_merchants WHERE n = 1 + g %% %(merchants)s) m ON true
"""


def run() -> dict:
    with transaction.atomic():
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(MERCHANT_ROWS, {"merchants": MERCHANTS})
            cursor.execute(
                "CREATE TEMP TABLE bench_merchants ON COMMIT DROP AS "
                "SELECT id, row_number() OVER (ORDER BY id) - 0 AS n FROM tenants_merchant "
                "WHERE slug LIKE 'bench-bill-%%'"
            )
            cursor.execute("CREATE INDEX ON bench_merchants (n)")
            cursor.execute(ENTRY_ROWS, {"entries": ENTRIES, "merchants": MERCHANTS})
            cursor.execute("ANALYZE billing_commissionentry")
            generated = time.perf_counter() - started

            started = time.perf_counter()
            cursor.execute(
                "SELECT merchant_id, currency, sum(amount) FROM billing_commissionentry "
                "WHERE occurred_at < '2001-02-01' GROUP BY merchant_id, currency"
            )
            groups = len(cursor.fetchall())
            anchor = time.perf_counter() - started

        started = time.perf_counter()
        result = invoice_run(period_start=PERIOD, finalize=True)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    rate = result.entries_attached / elapsed
    return {
        "merchants": MERCHANTS,
        "entries": ENTRIES,
        "entries_billed": result.entries_attached,
        "invoices": result.finalized,
        "invoice_run_s": round(elapsed, 2),
        "entries_per_s": round(rate),
        "anchor_group_by_s": round(anchor, 3),
        "run_over_anchor": round(elapsed / anchor, 1),
        "lines": [
            f"generated {MERCHANTS} merchants + {ENTRIES} entries in {generated:.1f} s (SQL)",
            f"invoice run            {elapsed:8.2f} s  ({rate:,.0f} entries/s, "
            f"{result.finalized} invoices, {result.entries_attached} live entries)",
            f"anchor GROUP BY sum    {anchor:8.3f} s  ({groups} merchant-currency groups)",
            f"ratio run / anchor     {elapsed / anchor:.1f}x",
        ],
    }
