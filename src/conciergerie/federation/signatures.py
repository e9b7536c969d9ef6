"""HTTP Signatures as spoken by Mastodon and Mobilizon (draft-cavage-http-signatures-12).

Pure functions: no database, no network. Outbound requests are signed with
``sign_headers``; inbound ones are checked with ``verify`` (or ``verify_django_request``)
once the caller has fetched the public key named by ``key_id_of``.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import functools
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

ALGORITHM = "rsa-sha256"
# hs2019 means "ask the key"; with the RSA keys of the fediverse it is rsa-sha256.
ACCEPTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
REQUEST_TARGET = "(request-target)"
CREATED = "(created)"
EXPIRES = "(expires)"

# Characters left as they are in a request path: RFC 3986 pchar, "/" and an existing "%XX".
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


class SignatureError(Exception):
    """A signature that cannot be produced or that does not prove what it should."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- keys ----------------------------------------------------------------------------


def generate_key_pair() -> tuple[str, str]:
    """A new RSA 2048 key pair: (private PEM PKCS8, public PEM SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return private_pem.decode("ascii"), public_pem.decode("ascii")


@functools.lru_cache(maxsize=64)
def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Loading checks the RSA key, which costs tens of milliseconds: a place signs every
    delivery with the same key, so the loaded key is kept (keyed by its PEM text)."""
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, AttributeError):
        raise SignatureError("bad key")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SignatureError("unsupported key type")
    return key


@functools.lru_cache(maxsize=1024)
def _load_public_key(pem: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError, UnsupportedAlgorithm, AttributeError):
        raise SignatureError("bad key")
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("unsupported key type")
    return key


# --- building blocks -----------------------------------------------------------------


def digest(body: bytes) -> str:
    """The Digest header value of a body: ``SHA-256=<base64>``."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def http_date(now: datetime | None = None) -> str:
    """An RFC 7231 IMF-fixdate, e.g. ``Sun, 06 Dec 2026 10:00:00 GMT``."""
    moment = _aware(now or datetime.now(UTC)).astimezone(UTC)
    return email.utils.format_datetime(moment, usegmt=True)


def host_header(url: str) -> str:
    """The Host header for a URL: lowercase host (IDNA), port only when not the default.

    The fetcher sends exactly this value, so what is signed is what is sent.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise SignatureError("bad host")
    if ":" in host:  # an IPv6 literal keeps its brackets in a Host header
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise SignatureError("bad port")
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    if port is not None and port != default:
        host = f"{host}:{port}"
    return host


def request_path(url: str) -> str:
    """The path and query to put on the request line (and to sign): ``/a/b?c=d``.

    Non-ASCII characters are percent-encoded so the line can be sent at all; existing
    escapes are kept as they are.
    """
    parts = urlsplit(url)
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_QUERY_SAFE)
    return path


def _aware(moment: datetime) -> datetime:
    # A naive datetime is taken as UTC: that is how the project stores time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


def signing_string(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    signed_headers: list[str] | tuple[str, ...],
    params: Mapping[str, str] | None = None,
) -> str:
    """The text that is signed: one ``name: value`` line per signed header, joined by "\\n".

    ``headers`` is looked up case-insensitively; ``params`` are the Signature parameters,
    which hold the values of the ``(created)`` and ``(expires)`` pseudo-headers.
    """
    lowered = _lower_headers(headers)
    params = params or {}
    lines = []
    for raw_name in signed_headers:
        name = raw_name.lower()
        if name == REQUEST_TARGET:
            value = f"{method.lower()} {path}"
        elif name in (CREATED, EXPIRES):
            param = name[1:-1]
            if param not in params:
                raise SignatureError(f"missing signature parameter: {param}")
            value = params[param]
        elif name in lowered:
            # Draft-12 2.3: leading and trailing whitespace of a value is dropped.
            value = lowered[name].strip()
        else:
            raise SignatureError(f"missing signed header: {name}")
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


# --- signing -------------------------------------------------------------------------


def sign_headers(
    *,
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
    accept: str | None = None,
    content_type: str | None = None,
) -> dict[str, str]:
    """The headers to send for a signed request (Host, Date, Digest, Signature…)."""
    if any(char in key_id for char in '"\r\n'):
        raise SignatureError("bad key id")
    key = _load_private_key(private_key_pem)
    headers = {"Host": host_header(url), "Date": http_date(now)}
    signed = [REQUEST_TARGET, "host", "date"]
    if body is not None:
        headers["Digest"] = digest(body)
        signed.append("digest")
    if content_type is not None:
        headers["Content-Type"] = content_type
        signed.append("content-type")
    if accept is not None:
        headers["Accept"] = accept
    text = signing_string(
        method=method, path=request_path(url), headers=headers, signed_headers=signed
    )
    signature = key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{key_id}",algorithm="{ALGORITHM}",headers="{" ".join(signed)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return headers


# --- parsing -------------------------------------------------------------------------


def parse_signature(header_value: str) -> dict[str, str]:
    """The parameters of a Signature header, ``headers`` defaulting to "date" (draft-12).

    Values are quoted strings (which may hold ``,``, ``=``, ``+``, ``/``) or, for
    ``created``/``expires``, bare tokens. Duplicate or empty parameter names, unterminated
    quotes and stray characters are refused rather than guessed at.
    """
    if not isinstance(header_value, str):
        raise SignatureError("malformed Signature header")
    text = header_value.strip()
    params: dict[str, str] = {}
    i, length = 0, len(text)
    while i < length:
        # name
        equals = text.find("=", i)
        if equals == -1:
            raise SignatureError("malformed Signature header")
        name = text[i:equals].strip()
        if not name or any(c in name for c in ' \t",'):
            raise SignatureError("malformed Signature header")
        i = equals + 1
        # value
        if i < length and text[i] == '"':
            end = text.find('"', i + 1)
            if end == -1:
                raise SignatureError("malformed Signature header")
            value = text[i + 1 : end]
            i = end + 1
        else:
            end = text.find(",", i)
            end = length if end == -1 else end
            value = text[i:end].strip()
            if not value or any(c in value for c in ' \t"='):
                raise SignatureError("malformed Signature header")
            i = end
        if name in params:
            raise SignatureError("malformed Signature header")
        params[name] = value
        # separator
        while i < length and text[i] in " \t":
            i += 1
        if i < length:
            if text[i] != ",":
                raise SignatureError("malformed Signature header")
            i += 1
            while i < length and text[i] in " \t":
                i += 1
            if i == length:  # a trailing comma
                raise SignatureError("malformed Signature header")
    if not params.get("keyId"):
        raise SignatureError("missing keyId")
    if not params.get("signature"):
        raise SignatureError("missing signature")
    params.setdefault("headers", "date")
    return params


def _signature_header(headers: Mapping[str, str]) -> str:
    value = _lower_headers(headers).get("signature")
    if not value:
        raise SignatureError("missing Signature header")
    return value


def key_id_of(headers: Mapping[str, str]) -> str:
    """The keyId named by a request's Signature header."""
    return parse_signature(_signature_header(headers))["keyId"]


# --- verification --------------------------------------------------------------------


def _check_digest(header_value: str | None, body: bytes) -> None:
    if not header_value:
        raise SignatureError("missing Digest header")
    # Several algorithms may be listed ("SHA-256=…,SHA-512=…"); names are case-insensitive.
    found = None
    for item in header_value.split(","):
        algorithm, sep, value = item.strip().partition("=")
        if sep and algorithm.strip().lower() == "sha-256":
            found = value.strip()
            break
    if found is None:
        raise SignatureError("unsupported digest algorithm")
    try:
        claimed = base64.b64decode(found, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("digest mismatch")
    if not hmac.compare_digest(claimed, hashlib.sha256(body).digest()):
        raise SignatureError("digest mismatch")


def _check_date(value: str, now: datetime, max_age: int) -> None:
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise SignatureError("bad date")
    age = (now - _aware(moment)).total_seconds()
    if age > max_age:
        raise SignatureError("expired")
    if -age > max_age:
        raise SignatureError("date in the future")


def _int_param(params: Mapping[str, str], name: str) -> int:
    try:
        return int(params[name])
    except KeyError:
        raise SignatureError(f"missing signature parameter: {name}")
    except ValueError:
        raise SignatureError(f"bad signature parameter: {name}")


def check_unkeyed(
    *,
    method: str,
    headers: Mapping[str, str],
    body: bytes | None,
    now: datetime | None = None,
    max_age: int | None = None,
) -> dict[str, str]:
    """What ``verify`` checks before it needs the key: the Signature header's form, the
    headers it must cover, the Digest and the Date; the parsed parameters, or SignatureError.
    """
    lowered = _lower_headers(headers)
    params = parse_signature(_signature_header(lowered))
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in ACCEPTED_ALGORITHMS:
        raise SignatureError("unsupported algorithm")
    signed = params["headers"].lower().split()
    if not signed:
        raise SignatureError("no signed headers")
    now = _aware(now or datetime.now(UTC))
    max_age = settings.FEDERATION_SIGNATURE_MAX_AGE if max_age is None else max_age

    # What must be signed so that a signature cannot be replayed elsewhere or later
    # (Mastodon's rules; (created) stands in for Date as Mastodon allows).
    for required in (REQUEST_TARGET, "host"):
        if required not in signed:
            raise SignatureError(f"missing signed header: {required}")
    if "date" not in signed and CREATED not in signed:
        raise SignatureError("missing signed header: date")
    has_body = bool(body) or method.upper() in ("POST", "PUT", "PATCH")
    if has_body and "digest" not in signed:
        raise SignatureError("missing signed header: digest")

    if "digest" in signed:
        _check_digest(lowered.get("digest"), body or b"")
    if "date" in signed:
        if "date" not in lowered:
            raise SignatureError("missing signed header: date")
        _check_date(lowered["date"], now, max_age)
    timestamp = now.timestamp()
    # Draft-12 2.3: these pseudo-headers are an error with the rsa-* algorithm names.
    if (CREATED in signed or EXPIRES in signed) and algorithm != "hs2019":
        raise SignatureError(f"(created)/(expires) not allowed with {algorithm}")
    if CREATED in signed:
        created = _int_param(params, "created")
        if timestamp - created > max_age:
            raise SignatureError("expired")
        if created - timestamp > max_age:
            raise SignatureError("created in the future")
    if EXPIRES in signed:
        expires = _int_param(params, "expires")
        if timestamp > expires:
            raise SignatureError("expired")
    return params


def verify(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key_pem: str,
    now: datetime | None = None,
    max_age: int | None = None,
) -> None:
    """Check a request's signature; return None when it holds, else raise SignatureError.

    ``path`` is the path with its query string, as received.
    """
    lowered = _lower_headers(headers)
    params = check_unkeyed(method=method, headers=lowered, body=body, now=now, max_age=max_age)
    signed = params["headers"].lower().split()
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("malformed signature")
    key = _load_public_key(public_key_pem)

    candidates = [path]
    if "?" in path:
        # Mastodon before 4.3 signed (request-target) without the query string.
        candidates.append(path.split("?", 1)[0])
    for candidate in candidates:
        text = signing_string(
            method=method, path=candidate, headers=lowered, signed_headers=signed, params=params
        )
        try:
            key.verify(signature, text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            continue
        return
    raise SignatureError("bad signature")


def verify_django_request(
    request: Any, public_key_pem: str, *, now: datetime | None = None, max_age: int | None = None
) -> None:
    """``verify`` applied to a Django HttpRequest."""
    verify(
        method=request.method or "GET",
        path=request.get_full_path(),
        headers=request.headers,
        body=request.body,
        public_key_pem=public_key_pem,
        now=now,
        max_age=max_age,
    )
