"""Billing pages: the team's invoices, credit notes, payments, products, subscriptions, grants
and settings, and a member's own invoices.

Views parse with forms, write through services and read through selectors. A domain error
becomes a message or a form error on the page it came from, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from conciergerie.billing import documents
from conciergerie.billing.forms import (
    BuyerForm,
    CancelForm,
    ChangePlanForm,
    CreditNoteForm,
    CustomerForm,
    FundingForm,
    InvoiceFilterForm,
    LineForm,
    PauseForm,
    PaymentForm,
    ProductForm,
    ResumeForm,
    SettingsForm,
    SubscriptionForm,
)
from conciergerie.billing.models import Invoice, Subscription
from conciergerie.billing.selectors import backoffice as lists
from conciergerie.billing.selectors import invoices as selectors
from conciergerie.billing.selectors.payments import payments_list
from conciergerie.billing.selectors.subscriptions import credit_balance
from conciergerie.billing.services import accounting, payments, setup, subscriptions
from conciergerie.billing.services import invoices as services
from conciergerie.core import permissions
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.forms import add_domain_errors, posted

PAGE_SIZE = 50


def _pdf(pdf: bytes, filename: str, *, inline: bool = False) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # personal data
    return response


def _querystring(request: HttpRequest) -> dict[str, str]:
    return {k: v for k, v in request.GET.dict().items() if k != "page"}


# --- Invoices ------------------------------------------------------------------------------------


@place_view("billing.manage")
@require_http_methods(["GET"])
def invoice_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    filters = InvoiceFilterForm(request.GET or None)
    qs = selectors.invoice_list(place=place, on=services.today(place), **filters.criteria())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "place": place,
        "filters": filters,
        "page": page,
        "querystring": _querystring(request),
        "filters_open": any(request.GET.get(k) for k in ("etat", "type", "du", "au")),
    }
    if request.headers.get("HX-Request"):
        return render(request, "billing/_invoice_rows.html", context)
    return render(request, "billing/invoices.html", context)


@place_view("billing.manage")
@require_http_methods(["GET", "POST"])
def invoice_create(request: HttpRequest) -> HttpResponse:
    place = request.place
    form = CustomerForm(posted(request), place=place)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invoice = services.invoice_draft_create(
                place=place,
                by=request.user,
                person=data.get("person"),
                organisation=data.get("organisation"),
                note=data.get("note", ""),
                period_start=data.get("period_start"),
                period_end=data.get("period_end"),
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Brouillon créé : ajoutez les lignes, puis émettez."))
            return redirect(invoice.get_absolute_url())
    return render(
        request,
        "billing/invoice_new.html",
        {"place": place, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def _detail_or_404(request: HttpRequest, uuid: Any) -> selectors.InvoiceDetail:
    detail = selectors.invoice_detail(
        place=request.place, uuid=uuid, on=services.today(request.place)
    )
    if detail is None:
        raise Http404
    return detail


def _invoice_or_404(request: HttpRequest, uuid: Any) -> Invoice:
    invoice = selectors.invoice_of(place=request.place, uuid=uuid)
    if invoice is None:
        raise Http404
    return invoice


def _buyer_initial(invoice: Invoice) -> dict[str, Any]:
    return {**{k: invoice.buyer.get(k, "") for k in BuyerForm.BUYER}, "note": invoice.note}


def _invoice_page(
    request: HttpRequest,
    detail: selectors.InvoiceDetail,
    *,
    line_form: LineForm | None = None,
    buyer_form: BuyerForm | None = None,
    payment_form: PaymentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    place = request.place
    invoice = detail.invoice
    context: dict[str, Any] = {
        "place": place,
        "detail": detail,
        "invoice": invoice,
    }
    if invoice.is_issued:
        if not invoice.is_credit_note:
            context["payment_form"] = payment_form or PaymentForm(
                left=invoice.left,
                initial={"received_on": services.today(place), "amount": invoice.left},
            )
    else:
        if not invoice.is_credit_note:
            context["line_form"] = line_form or LineForm(place=place)
        context["buyer_form"] = buyer_form or BuyerForm(initial=_buyer_initial(invoice))
    return render(request, "billing/invoice.html", context, status=status)


@place_view("billing.manage")
@require_http_methods(["GET"])
def invoice_page(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _invoice_page(request, _detail_or_404(request, uuid))


@place_view("billing.manage")
@require_http_methods(["POST"])
def invoice_line_add(request: HttpRequest, uuid: Any) -> HttpResponse:
    invoice = _invoice_or_404(request, uuid)
    form = LineForm(request.POST, place=request.place)
    if form.is_valid():
        fields = form.service_fields()
        # A plan the customer subscribes to pays for that subscription's month: the line
        # carries its charge key, so the billing run does not bill the month again.
        plan_month = subscriptions.plan_month_for_line(invoice=invoice, product=fields["product"])
        if plan_month is not None and plan_month.billed_by is not None:
            form.add_error("product", plan_month.billed_message())
        else:
            extra = plan_month.line_fields() if plan_month is not None else {}
            try:
                services.invoice_line_add(invoice=invoice, by=request.user, **fields, **extra)
            except DomainError as exc:
                # A conflict is the draft issued meanwhile, or (with a charge key) the month
                # billed meanwhile: the latter goes on the form, the draft still takes lines.
                issued = exc.status == 409 and (
                    plan_month is None or _invoice_or_404(request, uuid).is_issued
                )
                if issued:
                    messages.error(request, exc.message)
                    return redirect(invoice.get_absolute_url())
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("Ligne ajoutée."))
                return redirect(invoice.get_absolute_url() + "#lignes")
    return _invoice_page(request, _detail_or_404(request, uuid), line_form=form, status=400)


@place_view("billing.manage")
@require_http_methods(["POST"])
def invoice_line_remove(request: HttpRequest, uuid: Any) -> HttpResponse:
    invoice = _invoice_or_404(request, uuid)
    line = selectors.line_of(invoice=invoice, line_id=request.POST.get("line", ""))
    if line is None:
        messages.error(request, _("Cette ligne n'est pas sur la facture."))
        return redirect(invoice.get_absolute_url())
    try:
        services.invoice_line_remove(line=line, by=request.user)
        messages.success(request, _("Ligne retirée."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(invoice.get_absolute_url() + "#lignes")


@place_view("billing.manage")
@require_http_methods(["POST"])
def invoice_buyer(request: HttpRequest, uuid: Any) -> HttpResponse:
    invoice = _invoice_or_404(request, uuid)
    form = BuyerForm(request.POST)
    if form.is_valid():
        try:
            services.invoice_draft_update(invoice=invoice, by=request.user, **form.service_fields())
        except DomainError as exc:
            if exc.status == 409:
                messages.error(request, exc.message)
                return redirect(invoice.get_absolute_url())
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Destinataire enregistré."))
            return redirect(invoice.get_absolute_url())
    return _invoice_page(request, _detail_or_404(request, uuid), buyer_form=form, status=400)


@place_view("billing.manage")
@require_http_methods(["GET"])
def invoice_preview(request: HttpRequest, uuid: Any) -> HttpResponse:
    invoice = _invoice_or_404(request, uuid)
    try:
        pdf = documents.draft_preview_pdf(invoice)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(invoice.get_absolute_url())
    return _pdf(pdf, "apercu-brouillon.pdf", inline=True)


@place_view("billing.manage")
@require_http_methods(["GET"])
def invoice_pdf(request: HttpRequest, uuid: Any) -> HttpResponse:
    invoice = _invoice_or_404(request, uuid)
    try:
        pdf = documents.invoice_pdf(invoice)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(invoice.get_absolute_url())
    return _pdf(pdf, f"{invoice.number}.pdf")


@place_view("billing.manage")
@require_http_methods(["GET", "POST"])
def invoice_issue(request: HttpRequest, uuid: Any) -> HttpResponse:
    """GET asks for confirmation (an issued invoice never changes again); POST issues."""
    invoice = _invoice_or_404(request, uuid)
    if invoice.is_issued:
        messages.info(request, _("Cette facture est déjà émise."))
        return redirect(invoice.get_absolute_url())
    if request.method == "POST":
        try:
            issued = services.invoice_issue(invoice=invoice, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            for errs in exc.as_errors().values():
                for err in errs:
                    if err != exc.message:
                        messages.error(request, err)
        else:
            done = (
                _("Avoir %(number)s émis.")
                if issued.is_credit_note
                else _("Facture %(number)s émise.")
            )
            messages.success(request, done % {"number": issued.number})
            return redirect(issued.get_absolute_url())
        return redirect(invoice.get_absolute_url())
    return render(
        request,
        "billing/invoice_issue.html",
        {"place": request.place, "invoice": invoice, "today": services.today(request.place)},
    )


@place_view("billing.manage")
@require_http_methods(["GET", "POST"])
def invoice_delete(request: HttpRequest, uuid: Any) -> HttpResponse:
    """GET asks for confirmation; POST deletes the draft (no number is lost)."""
    invoice = _invoice_or_404(request, uuid)
    if request.method == "POST":
        try:
            services.invoice_draft_delete(invoice=invoice, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(invoice.get_absolute_url())
        messages.success(request, _("Brouillon supprimé."))
        return redirect("billing:invoices", place_slug=request.place.slug)
    if invoice.is_issued:
        messages.error(request, _("Une facture émise ne se supprime pas : faites un avoir."))
        return redirect(invoice.get_absolute_url())
    return render(
        request, "billing/invoice_delete.html", {"place": request.place, "invoice": invoice}
    )


@place_view("billing.manage")
@require_http_methods(["POST"])
def invoice_payment(request: HttpRequest, uuid: Any) -> HttpResponse:
    detail = _detail_or_404(request, uuid)
    invoice = detail.invoice
    form = PaymentForm(request.POST, left=invoice.left)
    if not invoice.is_issued or invoice.is_credit_note:
        messages.error(request, _("Un paiement se rapporte à une facture émise."))
        return redirect(invoice.get_absolute_url())
    if form.is_valid():
        data = form.cleaned_data
        try:
            payments.payment_record(
                place=request.place,
                by=request.user,
                person=invoice.person,
                organisation=invoice.organisation,
                method=data["method"],
                amount=data["amount"],
                received_on=data["received_on"],
                reference=data.get("reference", ""),
                note=data.get("note", ""),
                allocations=[(invoice, data["amount"])],
            )
        except DomainError as exc:
            # What is allocated to this invoice is the amount typed.
            add_domain_errors(
                form, exc, lambda key: "amount" if key.startswith("allocations") else None
            )
        else:
            messages.success(request, _("Paiement enregistré."))
            return redirect(invoice.get_absolute_url() + "#paiements")
    return _invoice_page(request, detail, payment_form=form, status=400)


@place_view("billing.manage")
@require_http_methods(["GET", "POST"])
def credit_note_create(request: HttpRequest, uuid: Any) -> HttpResponse:
    detail = _detail_or_404(request, uuid)
    invoice = detail.invoice
    if not invoice.is_issued or invoice.is_credit_note:
        messages.error(request, _("Un avoir se fait sur une facture émise."))
        return redirect(invoice.get_absolute_url())
    form = CreditNoteForm(posted(request), lines=detail.creditable)
    if request.method == "POST" and form.is_valid():
        try:
            credit = services.credit_note_create(
                invoice=invoice,
                by=request.user,
                quantities=form.quantities(),
                reason=form.cleaned_data.get("reason", ""),
            )
        except DomainError as exc:
            add_domain_errors(form, exc, form.field_of_error)
        else:
            messages.success(request, _("Avoir en brouillon : vérifiez-le, puis émettez-le."))
            return redirect(credit.get_absolute_url())
    return render(
        request,
        "billing/credit_note_new.html",
        {"place": request.place, "invoice": invoice, "detail": detail, "form": form},
        status=400 if request.method == "POST" else 200,
    )


# --- Payments, grants and donations --------------------------------------------------------------


@place_view("billing.manage")
@require_http_methods(["GET"])
def payment_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    page = Paginator(payments_list(place), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billing/payments.html", {"place": place, "page": page})


@place_view("billing.manage")
@require_http_methods(["GET", "POST"])
def funding_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    form = FundingForm(
        posted(request), initial={"received_on": services.today(place)}, prefix="financement"
    )
    if request.method == "POST" and form.is_valid():
        try:
            accounting.funding_record(place=place, by=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Financement enregistré."))
            return redirect("billing:fundings", place_slug=place.slug)
    page = Paginator(lists.fundings(place=place), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/fundings.html",
        {"place": place, "form": form, "page": page},
        status=400 if request.method == "POST" else 200,
    )


# --- Products ------------------------------------------------------------------------------------


@place_view("billing.manage")
@require_http_methods(["GET"])
def product_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    return render(
        request,
        "billing/products.html",
        {"place": place, "products": list(lists.products(place=place))},
    )


@place_view("billing.manage")
@require_http_methods(["GET", "POST"])
def product_form(request: HttpRequest, uuid: Any = None) -> HttpResponse:
    place = request.place
    product = None
    if uuid is not None:
        product = lists.product(place=place, uuid=uuid)
        if product is None:
            raise Http404
    form = ProductForm(posted(request), instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                product = setup.product_create(
                    place=place, by=request.user, **form.service_fields()
                )
                messages.success(request, _("Produit créé."))
            else:
                setup.product_update(product=product, by=request.user, **form.service_fields())
                messages.success(request, _("Produit enregistré."))
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            return redirect("billing:products", place_slug=place.slug)
    return render(
        request,
        "billing/product_form.html",
        {"place": place, "form": form, "product": product},
        status=400 if request.method == "POST" else 200,
    )


# --- Subscriptions -------------------------------------------------------------------------------


@place_view("billing.manage")
@require_http_methods(["GET"])
def subscription_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    status = request.GET.get("etat", "")
    qs = lists.subscriptions(place=place, on=services.today(place), status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/subscriptions.html",
        {
            "place": place,
            "page": page,
            "status": status,
            "statuses": Subscription.Status.choices,
            "querystring": _querystring(request),
        },
    )


@place_view("billing.manage")
@require_http_methods(["GET", "POST"])
def subscription_create(request: HttpRequest) -> HttpResponse:
    place = request.place
    form = SubscriptionForm(posted(request), place=place, initial={"start": services.today(place)})
    if request.method == "POST" and form.is_valid():
        try:
            subscription = subscriptions.subscription_create(
                place=place, by=request.user, **form.service_fields()
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
            if "customer" in exc.as_errors():
                for err in exc.as_errors()["customer"]:
                    form.add_error("person", err)
        else:
            messages.success(request, _("Abonnement créé."))
            return redirect("billing:subscription", place_slug=place.slug, uuid=subscription.uuid)
    return render(
        request,
        "billing/subscription_new.html",
        {"place": place, "form": form},
        status=400 if request.method == "POST" else 200,
    )


SUBSCRIPTION_ACTIONS = ("pause", "reprise", "resiliation", "forfait")


def _subscription_forms(
    request: HttpRequest, subscription: Subscription, posted: str = ""
) -> dict[str, Any]:
    """The page's four forms, the one named `posted` bound to the request."""
    place = request.place
    today = services.today(place)

    def data(name: str) -> Any:
        return request.POST if name == posted else None

    return {
        "pause": PauseForm(data("pause"), prefix="pause", initial={"start": today}),
        "reprise": ResumeForm(data("reprise"), prefix="reprise", initial={"on": today}),
        "resiliation": CancelForm(data("resiliation"), prefix="resiliation"),
        "forfait": ChangePlanForm(
            data("forfait"), prefix="forfait", place=place, initial={"on": today}
        ),
    }


def _subscription_page(
    request: HttpRequest,
    subscription: Subscription,
    forms: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    place = request.place
    return render(
        request,
        "billing/subscription.html",
        {
            "place": place,
            "subscription": subscription,
            "lots": list(subscription.credit_lots.all()),
            "balances": credit_balance(
                place=place,
                on=services.today(place),
                person=subscription.person,
                organisation=subscription.organisation,
            ),
            "forms": forms,
            "may_change": subscription.status != Subscription.Status.ENDED,
        },
        status=status,
    )


def _subscription_or_404(request: HttpRequest, uuid: Any) -> Subscription:
    place = request.place
    subscription = lists.subscription(place=place, uuid=uuid, on=services.today(place))
    if subscription is None:
        raise Http404
    return subscription


@place_view("billing.manage")
@require_http_methods(["GET"])
def subscription_page(request: HttpRequest, uuid: Any) -> HttpResponse:
    subscription = _subscription_or_404(request, uuid)
    return _subscription_page(request, subscription, _subscription_forms(request, subscription))


@place_view("billing.manage")
@require_http_methods(["POST"])
def subscription_action(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Pause, resume, cancel or change the plan: each form says which with `action`."""
    subscription = _subscription_or_404(request, uuid)
    action = request.POST.get("action", "")
    if action not in SUBSCRIPTION_ACTIONS:
        messages.error(request, _("Action inconnue."))
        return redirect(
            "billing:subscription", place_slug=request.place.slug, uuid=subscription.uuid
        )
    forms = _subscription_forms(request, subscription, posted=action)
    form = forms[action]
    if form.is_valid():
        data = form.cleaned_data
        try:
            result: Subscription | None = subscription
            if action == "pause":
                subscriptions.subscription_pause(
                    subscription=subscription, by=request.user, start=data["start"], end=data["end"]
                )
                done = _("Abonnement mis en pause.")
            elif action == "reprise":
                subscriptions.subscription_resume(
                    subscription=subscription, by=request.user, on=data["on"]
                )
                done = _("Abonnement repris.")
            elif action == "resiliation":
                result = subscriptions.subscription_cancel(
                    subscription=subscription, by=request.user, end=data["end"]
                )
                done = _("Abonnement résilié.")
            else:
                result = subscriptions.subscription_change_plan(
                    subscription=subscription, by=request.user, plan=data["plan"], on=data["on"]
                )
                done = _("Forfait changé : le nouvel abonnement prend la suite.")
        except DomainError as exc:
            if exc.status == 409:
                form.add_error(None, exc.message)
            else:
                add_domain_errors(form, exc)
        else:
            messages.success(request, done)
            if result is None:  # cancelled before it started: removed
                return redirect("billing:subscriptions", place_slug=request.place.slug)
            return redirect("billing:subscription", place_slug=request.place.slug, uuid=result.uuid)
    return _subscription_page(request, subscription, forms, status=400)


# --- Settings ------------------------------------------------------------------------------------


@place_view("billing.close")
@require_http_methods(["GET", "POST"])
def billing_settings(request: HttpRequest) -> HttpResponse:
    place = request.place
    current = lists.billing_settings(place=place)
    form = SettingsForm(posted(request), instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            setup.billing_settings_update(place=place, by=request.user, **form.service_fields())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Réglages de facturation enregistrés."))
            return redirect("billing:settings", place_slug=place.slug)
    return render(
        request,
        "billing/settings.html",
        {"place": place, "form": form, "closed_until": current.closed_until},
        status=400 if request.method == "POST" else 200,
    )


# --- A member's own invoices ---------------------------------------------------------------------


@place_view("invoice.view_own")
@require_http_methods(["GET"])
def my_invoices(request: HttpRequest) -> HttpResponse:
    place = request.place
    invoices = list(
        selectors.own_invoices(place=place, user=request.user, on=services.today(place))
    )
    return render(
        request,
        "billing/my_invoices.html",
        {
            "place": place,
            "invoices": invoices,
            "may_manage": permissions.can(request.user, "billing.manage", place),
        },
    )


@place_view("invoice.view_own")
@require_http_methods(["GET"])
def my_invoice_pdf(request: HttpRequest, uuid: Any) -> HttpResponse:
    """One's own invoice as PDF; anybody else's does not exist (404, not 403)."""
    invoice = selectors.own_invoice(place=request.place, user=request.user, uuid=uuid)
    if invoice is None:
        raise Http404
    return _pdf(documents.invoice_pdf(invoice), f"{invoice.number}.pdf")
