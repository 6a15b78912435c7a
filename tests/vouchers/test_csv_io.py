"""The vouchers CSV module writes through the product's one CSV streamer
(superpayment/csv_stream.py): the import report echoes codes from the uploaded file, so a code
that a spreadsheet would run as a formula comes back as text."""

from __future__ import annotations

import csv
import io

from vouchers.csv_io import import_report_csv, voucher_import_validate


def test_the_import_report_does_not_hand_a_spreadsheet_a_formula():
    upload = 'code,amount,currency\n=HYPERLINK("http://x.example"),10.00,EUR\n@SUM(A1),1,EUR\n'
    rows, problems = voucher_import_validate(data=upload.encode())
    assert rows == []

    report = list(csv.reader(io.StringIO(import_report_csv(problems))))

    assert report[0] == ["line", "code", "problem"]
    assert [(line, code) for line, code, _ in report[1:]] == [
        ("2", '\'=HYPERLINK("http://x.example")'),
        ("3", "'@SUM(A1)"),
    ]
