"""Portal pages for vouchers: list, detail with the ledger, create, bulk create with progress,
CSV import and export, disable/enable, manual adjustment. Viewers read; owners and admins
(Perm.MANAGE_VOUCHERS) write, and only they see full codes."""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from superpayment.errors import DomainError
from superpayment.money import MoneyError, amount_parse_localized, currency_validate
from tenants.permissions import Perm, role_allows
from tenants.portal import merchant_view, portal_object_mode
from tenants.regional import active_locale
from vouchers.codes import DEFAULT_RANDOM_LENGTH
from vouchers.csv_io import (
    import_report_csv,
    voucher_import_validate,
    vouchers_export_rows,
    vouchers_import,
)
from vouchers.job_models import VoucherJob
from vouchers.jobs import voucher_job_create
from vouchers.models import Voucher
from vouchers.selectors import voucher_search, voucher_status_counts
from vouchers.services import voucher_adjust, voucher_issue, voucher_update

PAGE_SIZE = 50
LEDGER_SHOWN = 200
IMPORT_REPORT_SECONDS = 3600
IMPORT_PROBLEMS_SHOWN = 100
MODES = [("test", "Test"), ("live", "Live")]


def _can_manage(request: HttpRequest) -> bool:
    return role_allows(request.membership.role, Perm.MANAGE_VOUCHERS)


def _livemode(request: HttpRequest) -> bool:
    """The portal's mode (`?mode=`, remembered per merchant: tenants.portal)."""
    return request.livemode


def _voucher_of_merchant(voucher_id: str) -> Voucher:
    # The schema is the merchant's: another merchant's id finds nothing here.
    voucher = Voucher.objects.filter(public_id=voucher_id).first()
    if voucher is None:
        raise Http404("No such voucher")
    return voucher


def _filters(request: HttpRequest) -> dict:
    query = request.GET
    status = query.get("status") or None
    return {
        "livemode": _livemode(request),
        "status": status if status in Voucher.Status.values else None,
        "currency": (query.get("currency") or "").strip()[:3] or None,
        "query": (query.get("q") or "").strip()[:80] or None,
        "job_id": (query.get("job") or "").strip()[:32] or None,
    }


@merchant_view(Perm.VIEW)
@require_GET
def vouchers_page(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    vouchers = voucher_search(**filters).order_by("-pk")
    after = request.GET.get("after", "")
    if after.isdigit():
        vouchers = vouchers.filter(pk__lt=int(after))
    page = list(vouchers[: PAGE_SIZE + 1])
    counts = voucher_status_counts(livemode=filters["livemode"])
    chips = [("", "All", sum(counts.values()))] + [
        (value, label, counts.get(value, 0)) for value, label in Voucher.Status.choices
    ]
    return render(
        request,
        "portal/vouchers.html",
        {
            "vouchers": page[:PAGE_SIZE],
            "next_after": page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None,
            "filters": filters,
            "mode": "live" if filters["livemode"] else "test",
            "chips": chips,
            "query": request.GET.urlencode(),
            "can_manage": _can_manage(request),
        },
    )


@merchant_view(Perm.VIEW)
@require_GET
def voucher_detail(request: HttpRequest, voucher_id: str) -> HttpResponse:
    voucher = _voucher_of_merchant(voucher_id)
    portal_object_mode(
        request,
        livemode=voucher.livemode,
        list_url=reverse("portal:vouchers", kwargs={"slug": request.merchant.slug}),
    )
    entries = list(voucher.ledger_entries.order_by("-pk")[:LEDGER_SHOWN])
    return render(
        request,
        "portal/voucher_detail.html",
        {
            "voucher": voucher,
            "entries": entries,
            "can_manage": _can_manage(request),
            "adjust_form": AdjustForm(),
        },
    )


class _TermsForm(forms.Form):
    mode = forms.ChoiceField(choices=MODES, initial="test")
    currency = forms.CharField(max_length=3)
    amount = forms.CharField(max_length=20, help_text="In the currency's unit, e.g. 25.00")
    expires_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Optional, in your business's time zone.",
    )
    single_use = forms.BooleanField(required=False, help_text="Pays once, whatever is left.")

    def clean(self):
        data = super().clean()
        try:
            data["currency"] = currency_validate(data.get("currency", ""))
            data["amount_minor"] = amount_parse_localized(
                data.get("amount", ""), data["currency"], active_locale()
            )
        except MoneyError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data

    def terms(self) -> dict:
        data = self.cleaned_data
        return {
            "livemode": data["mode"] == "live",
            "currency": data["currency"],
            "amount": data["amount_minor"],
            "expires_at": data.get("expires_at"),
            "rules": {"single_use": True} if data.get("single_use") else None,
        }


class CreateForm(_TermsForm):
    code = forms.CharField(
        required=False, max_length=80, help_text="Optional: your own code; empty to generate one."
    )


class BulkForm(_TermsForm):
    count = forms.IntegerField(min_value=1, max_value=100_000)
    prefix = forms.CharField(required=False, max_length=12, help_text="Optional code prefix.")


class AdjustForm(forms.Form):
    amount = forms.CharField(max_length=21, help_text="Signed, e.g. 5.00 or -5.00")
    reason = forms.CharField(max_length=500)


class ImportForm(forms.Form):
    mode = forms.ChoiceField(choices=MODES, initial="test")
    file = forms.FileField(help_text="CSV: code,amount,currency[,expires_at][,valid_from]")


def _form_error(form: forms.Form, error: DomainError) -> None:
    field = (error.param or "").split(".")[0]
    form.add_error(field if field in form.fields else None, error.message)


@merchant_view(Perm.MANAGE_VOUCHERS)
def voucher_create(request: HttpRequest) -> HttpResponse:
    form = CreateForm(request.POST or None, initial={"currency": request.merchant.default_currency})
    if request.method == "POST" and form.is_valid():
        try:
            voucher = voucher_issue(
                code=form.cleaned_data["code"] or None,
                created_by=request.user.pk,
                **form.terms(),
            )
        except DomainError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Voucher …{voucher.code_last4} created.")
            return redirect(
                "portal:voucher_detail", slug=request.merchant.slug, voucher_id=voucher.public_id
            )
    return render(request, "portal/voucher_form.html", {"form": form, "title": "Create a voucher"})


@merchant_view(Perm.MANAGE_VOUCHERS)
def voucher_bulk(request: HttpRequest) -> HttpResponse:
    form = BulkForm(request.POST or None, initial={"currency": request.merchant.default_currency})
    if request.method == "POST" and form.is_valid():
        try:
            job = voucher_job_create(
                count=form.cleaned_data["count"],
                prefix=form.cleaned_data["prefix"],
                length=DEFAULT_RANDOM_LENGTH,
                created_by=request.user.pk,
                **form.terms(),
            )
        except DomainError as error:
            _form_error(form, error)
        else:
            return redirect("portal:voucher_job", slug=request.merchant.slug, job_id=job.public_id)
    return render(
        request,
        "portal/voucher_form.html",
        {"form": form, "title": "Create vouchers in bulk", "bulk": True},
    )


@merchant_view(Perm.VIEW)
@require_GET
def voucher_job(request: HttpRequest, job_id: str) -> HttpResponse:
    job = VoucherJob.objects.filter(public_id=job_id).first()
    if job is None:
        raise Http404("No such job")
    state = {
        "id": job.public_id,
        "status": job.status,
        "count": job.count,
        "issued_count": job.issued_count,
        "error": job.error,
    }
    if request.GET.get("format") == "json":
        return JsonResponse(state)
    return render(
        request,
        "portal/voucher_job.html",
        {"job": job, "state": state, "can_manage": _can_manage(request)},
    )


@merchant_view(Perm.MANAGE_VOUCHERS)
def voucher_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    problems, report_token = [], None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read(10 * 1024 * 1024 + 1)
        rows, problems = voucher_import_validate(data=data)
        if problems:
            report_token = secrets.token_urlsafe(16)
            # The default cache is tenant-prefixed: another merchant cannot read this report.
            cache.set(
                f"voucher_import_report:{report_token}",
                import_report_csv(problems),
                IMPORT_REPORT_SECONDS,
            )
        else:
            try:
                imported = vouchers_import(
                    rows=rows,
                    livemode=form.cleaned_data["mode"] == "live",
                    created_by=request.user.pk,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Imported {imported} vouchers.")
                mode = form.cleaned_data["mode"]
                url = reverse("portal:vouchers", kwargs={"slug": request.merchant.slug})
                return redirect(f"{url}?mode={mode}")
    return render(
        request,
        "portal/voucher_import.html",
        {
            "form": form,
            "problems": problems[:IMPORT_PROBLEMS_SHOWN],
            "problem_count": len(problems),
            "report_token": report_token,
        },
    )


@merchant_view(Perm.MANAGE_VOUCHERS)
@require_GET
def voucher_import_report(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("token", "")
    report = cache.get(f"voucher_import_report:{token}") if token else None
    if report is None:
        raise Http404("This report has expired; import the file again to get a new one.")
    response = HttpResponse(report, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="voucher-import-errors.csv"'
    return response


@merchant_view(Perm.MANAGE_VOUCHERS)
@require_GET
def voucher_export(request: HttpRequest) -> StreamingHttpResponse:
    vouchers = voucher_search(**_filters(request))
    mode = "live" if _livemode(request) else "test"
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        vouchers_export_rows(vouchers=vouchers, schema_name=request.merchant.schema_name),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="vouchers-{request.merchant.slug}-{mode}-{stamp}.csv"'
    )
    return response


@require_POST
@merchant_view(Perm.MANAGE_VOUCHERS)
def voucher_status(request: HttpRequest, voucher_id: str) -> HttpResponse:
    voucher = _voucher_of_merchant(voucher_id)
    wanted = {"disable": Voucher.Status.DISABLED, "enable": Voucher.Status.ACTIVE}.get(
        request.POST.get("action", "")
    )
    if wanted is None:
        messages.error(request, "Choose to disable or enable the voucher.")
    else:
        try:
            voucher_update(
                voucher_id=voucher.public_id,
                livemode=voucher.livemode,
                status=wanted,
                actor=request.user.pk,
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            done = "disabled" if wanted == Voucher.Status.DISABLED else "enabled"
            messages.success(request, f"Voucher …{voucher.code_last4} {done}.")
    return redirect("portal:voucher_detail", slug=request.merchant.slug, voucher_id=voucher_id)


def _signed_amount(text: str, currency: str) -> int:
    text = (text or "").strip().replace(" ", "")
    sign = -1 if text.startswith("-") else 1
    return sign * amount_parse_localized(text.lstrip("+-"), currency, active_locale())


@require_POST
@merchant_view(Perm.MANAGE_VOUCHERS)
def voucher_adjust_view(request: HttpRequest, voucher_id: str) -> HttpResponse:
    voucher = _voucher_of_merchant(voucher_id)
    form = AdjustForm(request.POST)
    if not form.is_valid():
        messages.error(request, "An adjustment needs an amount and a reason.")
    else:
        try:
            amount = _signed_amount(form.cleaned_data["amount"], voucher.currency)
            voucher_adjust(
                voucher_id=voucher.public_id,
                livemode=voucher.livemode,
                amount=amount,
                reason=form.cleaned_data["reason"],
                actor=request.user.pk,
            )
        except MoneyError as error:
            messages.error(request, str(error))
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Balance adjusted.")
    return redirect("portal:voucher_detail", slug=request.merchant.slug, voucher_id=voucher_id)
