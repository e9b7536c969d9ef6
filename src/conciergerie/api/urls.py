"""The JSON API under /api/v1/: OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from conciergerie.api.auth import api_caller
from conciergerie.billing.api import router as billing_router
from conciergerie.commons.api import router as commons_router
from conciergerie.community.api import router as community_router
from conciergerie.core.api import router as core_router
from conciergerie.core.errors import DomainError
from conciergerie.events.api import router as events_router
from conciergerie.spaces.api import router as spaces_router


class _DocumentedBearer(HttpBearer):
    """Only here so the OpenAPI document declares the Bearer scheme; api_caller checks."""

    def authenticate(self, request: HttpRequest, token: str) -> object:
        return api_caller(request)


api = NinjaAPI(
    title="Conciergerie API",
    version="1",
    description=(
        "API de Conciergerie. Authentification : `Authorization: Bearer <jeton>` "
        "(créé avec `conciergerie token create --email E`). Sans jeton, seules les "
        "données publiques sont visibles. Les identifiants sont des UUID."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _field_of(loc: list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "data")]
    return ".".join(parts) or "__all__"


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        errors.setdefault(_field_of(list(err.get("loc", []))), []).append(_translate_pydantic(err))
    return api.create_response(
        request, {"detail": _("Certaines valeurs sont invalides."), "errors": errors}, status=400
    )


def _translate_pydantic(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return _("Ce champ est obligatoire.")
    if kind in {
        "string_type",
        "list_type",
        "dict_type",
        "int_type",
        "bool_type",
        "uuid_type",
        "uuid_parsing",
        "int_parsing",
        "decimal_parsing",
        "date_from_datetime_parsing",
        "date_parsing",
    }:
        return _("Valeur de type incorrect.")
    if kind == "json_invalid":
        return _("JSON invalide.")
    if kind == "string_too_long":
        return _("Texte trop long.")
    return str(err.get("msg", _("Valeur invalide.")))


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(
        request, {"detail": exc.message, "errors": exc.as_errors()}, status=exc.status
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"detail": _("Authentification requise."), "errors": {}}, status=401
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc), "errors": {}}, status=exc.status_code)


api.add_router("/", core_router)
api.add_router("/", community_router)
api.add_router("/", spaces_router)
api.add_router("/", events_router)
api.add_router("/", billing_router)
api.add_router("/", commons_router)
api.add_router("/", "conciergerie.federation.api.router")
