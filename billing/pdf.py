"""The invoice as a PDF (fpdf2, pure Python; core fonts, so Latin-1 text)."""

from __future__ import annotations

from django.conf import settings
from fpdf import FPDF

from billing.models import Invoice
from superpayment.money import amount_format


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _money(amount: int, currency: str) -> str:
    # Core PDF fonts have no euro sign in Latin-1: write the ISO code instead of the symbol.
    return _latin1(amount_format(amount, currency).replace("\u20ac", "EUR "))


def invoice_pdf(*, invoice: Invoice) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(f"Invoice {invoice.display_number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    issuer = [settings.BILLING_COMPANY_NAME, settings.BILLING_COMPANY_ADDRESS]
    issuer.append(f"VAT ID: {settings.BILLING_COMPANY_VAT_ID or '(placeholder - not set)'}")
    for line in filter(None, issuer):
        pdf.cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    billed = invoice.billed_name or invoice.merchant.name
    country = invoice.billed_country or invoice.merchant.country
    rows = [
        ("Billed to", f"{billed} ({country})"),
        ("Customer VAT ID", "(placeholder - not collected)"),
        ("Period", f"{invoice.period_start:%Y-%m-%d} to {invoice.period_end:%Y-%m-%d} (excl.)"),
        ("Status", invoice.get_status_display()),
        ("Issued", f"{invoice.finalized_at:%Y-%m-%d}" if invoice.finalized_at else "draft"),
    ]
    for label, value in rows:
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(40, 6, _latin1(label))
        pdf.set_font("helvetica", "", 10)
        pdf.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 10)
    widths = (30, 60, 25, 35, 35)
    for width, head in zip(widths, ("Day", "Line", "Count", "Base", "Amount"), strict=True):
        pdf.cell(width, 7, head, border="B")
    pdf.ln()
    pdf.set_font("helvetica", "", 9)
    for line in invoice.lines.all():
        label = "Refund credit" if line.is_credit else "Commission"
        cells = (
            f"{line.day:%Y-%m-%d}",
            label,
            str(line.quantity),
            _money(line.base_amount, invoice.currency),
            _money(line.amount, invoice.currency),
        )
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 6, text)
        pdf.ln()
    pdf.ln(3)
    totals = [
        ("Commission", invoice.subtotal),
        ("Refund credits", invoice.credits),
        ("Total (net)", invoice.total),
    ]
    for label, amount in totals:
        pdf.set_font("helvetica", "B" if label.startswith("Total") else "", 10)
        pdf.cell(150, 6, label, align="R")
        pdf.cell(35, 6, _money(amount, invoice.currency), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    pdf.cell(150, 6, "VAT (placeholder - not computed)", align="R")
    pdf.cell(35, 6, "-", new_x="LMARGIN", new_y="NEXT")
    if invoice.stripe_hosted_url:
        pdf.ln(4)
        pdf.cell(0, 6, _latin1(f"Pay online: {invoice.stripe_hosted_url}"))
    return bytes(pdf.output())
