"""Typed errors: one class per code of the server's error envelope, plus transport faults.

Every error carries what the envelope said (``code``, ``message``, ``details``, ``hint``), the
HTTP ``status`` and the server's ``request_id`` (its ``x-request-id`` header), never a request
header: an API key or a token cannot end up in a message, a repr or a log line.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Type

__all__ = [
    "ConnectrError",
    "ConnectrConnectionError",
    "ConnectrTimeoutError",
    "InvalidResponseError",
    "UsageError",
    "InvalidInputError",
    "InvalidConnectorError",
    "NotFoundError",
    "AuthRequiredError",
    "AuthExpiredError",
    "ForbiddenError",
    "MethodNotAllowedError",
    "ConflictError",
    "NeedsReauthError",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
    "InternalError",
    "UpstreamError",
    "UnavailableError",
    "RequestCancelledError",
    "ServerTimeoutError",
    "ErrorDetail",
    "error_class_for",
]


def _printable(text: str) -> str:
    """Text a server sent, safe for a terminal: control characters (escape codes) shown escaped."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class ErrorDetail:
    """One problem of an error: the request field at fault (``body.name``...) when there is one."""

    __slots__ = ("field", "message")

    def __init__(self, message: str, field: Optional[str] = None) -> None:
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"ErrorDetail(field={self.field!r}, message={self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrorDetail) and (other.field, other.message) == (self.field, self.message)

    def __hash__(self) -> int:
        return hash((self.field, self.message))


class ConnectrError(Exception):
    """Base of every error this package raises.

    ``code`` is the envelope's stable code (``not_found``...), or for faults of this client:
    ``connection_error``, ``client_timeout``, ``invalid_response``. ``status`` is the HTTP status
    (``None`` when no answer came).
    """

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        status: Optional[int] = None,
        details: Optional[List[ErrorDetail]] = None,
        hint: Optional[str] = None,
        request_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status
        self.details: List[ErrorDetail] = list(details or [])
        self.hint = hint
        self.request_id = request_id

    @property
    def fields(self) -> List[str]:
        """The request fields named in ``details`` (``["body.user_id"]``)."""
        return [d.field for d in self.details if d.field is not None]

    def __str__(self) -> str:
        text = _printable(self.message)
        if self.status is not None:
            text = f"{text} ({self.status} {_printable(self.code)})"
        for detail in self.details:
            text += f"\n  {_printable(detail.field) + ': ' if detail.field else ''}{_printable(detail.message)}"
        if self.hint:
            text += f"\n  hint: {_printable(self.hint)}"
        if self.request_id:
            text += f"\n  request id: {_printable(self.request_id)}"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class ConnectrConnectionError(ConnectrError):
    """The server could not be reached, or the connection broke before a full answer."""

    code = "connection_error"


class ConnectrTimeoutError(ConnectrError):
    """No answer (or no progress in an answer) within the client's time-out."""

    code = "client_timeout"


class InvalidResponseError(ConnectrError):
    """The server answered something that is not what its API documents (not JSON, a cut stream)."""

    code = "invalid_response"


class UsageError(ConnectrError):
    code = "usage"


class InvalidInputError(ConnectrError):
    """400: a parameter or body field is missing or wrong; ``fields`` names it."""

    code = "invalid_input"


class InvalidConnectorError(ConnectrError):
    code = "invalid_connector"


class NotFoundError(ConnectrError):
    """404: no such route, connector, endpoint or connection (or another project's)."""

    code = "not_found"


class AuthRequiredError(ConnectrError):
    """401: no API key, or an unknown or revoked one."""

    code = "auth_required"


class AuthExpiredError(ConnectrError):
    code = "auth_expired"


class ForbiddenError(ConnectrError):
    """403: the API key may not do this (e.g. read tokens without --allow-token)."""

    code = "forbidden"


class MethodNotAllowedError(ConnectrError):
    code = "method_not_allowed"


class ConflictError(ConnectrError):
    """409: the resource is not in a state that allows this (e.g. no token stored yet)."""

    code = "conflict"


class NeedsReauthError(ConnectrError):
    """409: the connection must be signed in (again) before it can call its API."""

    code = "needs_reauth"


class PayloadTooLargeError(ConnectrError):
    code = "payload_too_large"


class UnsupportedMediaTypeError(ConnectrError):
    code = "unsupported_media_type"


class InternalError(ConnectrError):
    """500: a bug in the server; report it with ``request_id``."""

    code = "internal"


class UpstreamError(ConnectrError):
    """502: the upstream API could not be reached or answered with an error."""

    code = "upstream"


class UnavailableError(ConnectrError):
    """503: the database (or the network) cannot be reached; retry later."""

    code = "unavailable"


class RequestCancelledError(ConnectrError):
    """503: the server is shutting down (or the operation was cancelled)."""

    code = "cancelled"


class ServerTimeoutError(ConnectrError):
    """504: an operation took too long on the server's side (an upstream that did not answer)."""

    code = "timeout"


_BY_CODE: Dict[str, Type[ConnectrError]] = {
    cls.code: cls
    for cls in (
        UsageError,
        InvalidInputError,
        InvalidConnectorError,
        NotFoundError,
        AuthRequiredError,
        AuthExpiredError,
        ForbiddenError,
        MethodNotAllowedError,
        ConflictError,
        NeedsReauthError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        InternalError,
        UpstreamError,
        UnavailableError,
        RequestCancelledError,
        ServerTimeoutError,
    )
}
# The API redirected (or linked a page) where the server does not follow: an upstream failure
# (the error keeps its own code).
_BY_CODE["follow_refused"] = UpstreamError

#: The HTTP status the server gives each code (used for errors that arrive inside an NDJSON stream).
STATUS_BY_CODE: Dict[str, int] = {
    "usage": 400,
    "invalid_input": 400,
    "invalid_connector": 400,
    "auth_required": 401,
    "auth_expired": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "needs_reauth": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "internal": 500,
    "upstream": 502,
    "follow_refused": 502,
    "unavailable": 503,
    "cancelled": 503,
    "timeout": 504,
}


def error_class_for(code: str) -> Type[ConnectrError]:
    """The class for an envelope code; :class:`ConnectrError` itself for a code this version does not know."""
    return _BY_CODE.get(code, ConnectrError)


def _text(value: Any, limit: int = 2000) -> Optional[str]:
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[:limit] + "..."


def is_envelope(value: Any, known_code: bool = False) -> bool:
    """Whether a decoded JSON value is the server's error envelope ``{"error": {code, message, details}}``
    (``details`` required: Microsoft Graph's errors are ``{"error": {code, message}}``). With
    ``known_code``, also that the code is one this version knows (for answers that may be an
    upstream API's own, through the raw proxy)."""
    if not isinstance(value, dict) or set(value) != {"error"}:
        return False
    inner = value["error"]
    return (
        isinstance(inner, dict)
        and isinstance(inner.get("code"), str)
        and isinstance(inner.get("message"), str)
        and isinstance(inner.get("details"), list)
        and (not known_code or inner["code"] in STATUS_BY_CODE)
    )


def from_envelope(
    value: Mapping[str, Any], status: Optional[int], request_id: Optional[str]
) -> ConnectrError:
    """The typed error for a decoded envelope (``is_envelope(value)`` must hold)."""
    inner = value["error"]
    code = str(inner["code"])
    details: List[ErrorDetail] = []
    for item in inner.get("details", [])[:100]:
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            details.append(ErrorDetail(_text(item["message"]) or "", _text(item.get("field"), 200)))
    cls = error_class_for(code)
    return cls(
        _text(inner["message"]) or code,
        code=code,
        status=status if status is not None else STATUS_BY_CODE.get(code),
        details=details,
        hint=_text(inner.get("hint")),
        request_id=request_id,
    )
