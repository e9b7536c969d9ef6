"""Domain exceptions: services raise them, views and the API translate them."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_errors(self) -> dict[str, list[str]]:
        return {self.field or "__all__": [self.message]}


class Conflict(DomainError):
    status = 409


class Busy(DomainError):
    """Too many writers on the same thing right now: nothing was written, try again."""

    status = 503


class PermissionDenied(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class InvalidInput(DomainError):
    """Several field errors at once."""

    def __init__(self, errors: dict[str, list[str]], message: str = "") -> None:
        from django.utils.translation import gettext as _

        super().__init__(message or _("Certaines valeurs sont invalides."))
        self.errors = errors

    def as_errors(self) -> dict[str, list[str]]:
        return self.errors

    @classmethod
    def from_validation_error(cls, exc: ValidationError) -> InvalidInput:
        if hasattr(exc, "error_dict"):
            return cls(
                {
                    f: [str(m) for e in errs for m in e.messages]
                    for f, errs in exc.error_dict.items()
                }
            )
        return cls({"__all__": [str(m) for m in exc.messages]})
