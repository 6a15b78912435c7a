"""The invoice as a PDF (fpdf2, pure Python). Core fonts in Windows-1252, which has the euro,
pound and yen signs, so amounts print as on the HTML invoice (in the merchant's locale:
"19,50 €" for a German business); a symbol outside it (₹, ₩…) falls back to the ISO code."""

from __future__ import annotations

from django.conf import settings
from fpdf import FPDF

from billing.models import Invoice
from billing.vat import iban_format, vat_rate_display
from superpayment.money import amount_format, amount_format_iso
from tenants.regional import merchant_locale

ENCODING = "windows-1252"


def _text(text: str) -> str:
    # Babel separates with (narrow) no-break spaces; the core fonts have a plain one.
    text = text.replace("\u202f", " ").replace("\u00a0", " ")
    return text.encode(ENCODING, "replace").decode(ENCODING)


def _encodable(text: str) -> bool:
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _money(amount: int, currency: str, locale: str) -> str:
    shown = amount_format(amount, currency, locale)
    if not _encodable(shown.replace("\u202f", " ")):
        shown = amount_format_iso(amount, currency, locale)
    return _text(shown)


class InvoicePDF(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.core_fonts_encoding = ENCODING
        self.set_auto_page_break(auto=True, margin=15)

    def line(self, text: str, *, bold: bool = False, size: int = 10) -> None:  # type: ignore[override]
        self.set_font("helvetica", "B" if bold else "", size)
        self.multi_cell(0, 5, _text(text), new_x="LMARGIN", new_y="NEXT")

    def pair(self, label: str, value: str) -> None:
        self.set_font("helvetica", "B", 10)
        self.cell(40, 6, _text(label))
        self.set_font("helvetica", "", 10)
        self.multi_cell(0, 6, _text(value), new_x="LMARGIN", new_y="NEXT")

    def total(self, label: str, value: str, *, bold: bool = False) -> None:
        self.set_font("helvetica", "B" if bold else "", 10)
        self.cell(150, 6, _text(label), align="R")
        self.cell(35, 6, value, new_x="LMARGIN", new_y="NEXT")


def _issuer(pdf: InvoicePDF) -> None:
    pdf.line(settings.BILLING_COMPANY_NAME, bold=True)
    if settings.BILLING_COMPANY_ADDRESS:
        pdf.line(settings.BILLING_COMPANY_ADDRESS)
    vat = f" · VAT ID {settings.BILLING_COMPANY_VAT_ID}" if settings.BILLING_COMPANY_VAT_ID else ""
    pdf.line(f"{settings.BILLING_COMPANY_COUNTRY}{vat}")


def _billed(pdf: InvoicePDF, invoice: Invoice) -> None:
    if invoice.is_final:
        pdf.pair("Billed to", invoice.billed_name)
        if invoice.billed_address:
            pdf.pair("Address", invoice.billed_address)
        pdf.pair("Country", invoice.billed_country)
        if invoice.billed_vat_id:
            pdf.pair("VAT ID", invoice.billed_vat_id)
    else:
        pdf.pair("Billed to", f"{invoice.merchant.name} ({invoice.merchant.country})")
    period = f"{invoice.period_start:%Y-%m-%d} to {invoice.period_end:%Y-%m-%d} (exclusive)"
    pdf.pair("Period", period)
    pdf.pair("Status", invoice.get_status_display())
    pdf.pair("Issued", f"{invoice.finalized_at:%Y-%m-%d}" if invoice.finalized_at else "draft")


def _lines(pdf: InvoicePDF, invoice: Invoice) -> None:
    widths = (30, 60, 25, 35, 35)
    locale = merchant_locale(invoice.merchant)  # amounts as on the HTML invoice the merchant sees
    pdf.set_font("helvetica", "B", 10)
    for width, head in zip(widths, ("Day", "Line", "Count", "Base", "Amount"), strict=True):
        pdf.cell(width, 7, head, border="B")
    pdf.ln()
    pdf.set_font("helvetica", "", 9)
    for line in invoice.lines.all():
        cells = (
            f"{line.day:%Y-%m-%d}",
            "Refund credit" if line.is_credit else "Commission",
            str(line.quantity),
            _money(line.base_amount, invoice.currency, locale),
            _money(line.amount, invoice.currency, locale),
        )
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 6, text)
        pdf.ln()


def _totals(pdf: InvoicePDF, invoice: Invoice) -> None:
    currency, locale = invoice.currency, merchant_locale(invoice.merchant)
    pdf.total("Commission", _money(invoice.subtotal, currency, locale))
    pdf.total("Refund credits", _money(invoice.credits, currency, locale))
    pdf.total("Total excluding VAT", _money(invoice.total, currency, locale))
    if not invoice.is_final:
        pdf.total("VAT", "at finalization")
        return
    label = (
        f"VAT {vat_rate_display(invoice.tax_rate_bps, locale)}"
        if invoice.tax_rate_bps
        else f"VAT ({invoice.get_tax_treatment_display().lower()})"
    )
    pdf.total(label, _money(invoice.tax_amount, currency, locale))
    pdf.total("Amount due", _money(invoice.amount_due, currency, locale), bold=True)
    if invoice.tax_note:
        pdf.ln(2)
        pdf.line(invoice.tax_note, size=9)


def _payment(pdf: InvoicePDF, invoice: Invoice) -> None:
    if invoice.status == Invoice.Status.PAID:
        pdf.line(f"Paid {invoice.paid_at:%Y-%m-%d}. Thank you.")
        return
    if invoice.status not in (Invoice.Status.OPEN, Invoice.Status.UNCOLLECTIBLE):
        return
    if invoice.stripe_hosted_url:
        pdf.line(f"Pay online: {invoice.stripe_hosted_url}")
    if settings.BILLING_BANK_IBAN:
        pdf.line(
            f"Pay by bank transfer to {settings.BILLING_COMPANY_NAME}, "
            f"IBAN {iban_format(settings.BILLING_BANK_IBAN)}, BIC {settings.BILLING_BANK_BIC}, "
            f"reference {invoice.number}."
        )


def invoice_pdf(*, invoice: Invoice) -> bytes:
    pdf = InvoicePDF()
    pdf.add_page()
    pdf.line(f"Invoice {invoice.display_number}", bold=True, size=16)
    _issuer(pdf)
    pdf.ln(4)
    _billed(pdf, invoice)
    pdf.ln(4)
    _lines(pdf, invoice)
    pdf.ln(3)
    _totals(pdf, invoice)
    pdf.ln(4)
    _payment(pdf, invoice)
    return bytes(pdf.output())
