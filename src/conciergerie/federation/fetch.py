"""Outbound HTTP for federation, guarded against SSRF and oversized answers.

Every URL comes from another instance, so it is untrusted: it may point at the loopback,
the private network or a cloud metadata endpoint, or resolve to one of them. ``check_url``
resolves the host once and refuses any non-public address; ``request`` then connects to
exactly those addresses (no second resolution an attacker could answer differently),
while still sending the original Host header and checking TLS against the host name.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from conciergerie.federation import signatures

ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ACTIVITY_JSON = "application/activity+json"
JSON_MEDIA_TYPES = frozenset(
    {"application/activity+json", "application/ld+json", "application/json", "application/jrd+json"}
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
_CHUNK = 64 * 1024
# Well-known NAT64 prefix: the embedded IPv4 address is where the packet really goes.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

Signer = Callable[[str], dict[str, str]]


class FetchError(Exception):
    """An outbound request that failed; ``reason`` says why in a few English words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeAddress(FetchError):
    """A URL refused before any connection: bad scheme, credentials, port or address.

    Permanent by nature: retrying will not help.
    """


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lowercase names; repeated headers joined with ", "
    body: bytes
    url: str  # the final URL, after redirects


# --- address checks ------------------------------------------------------------------


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 destination are judged by that destination.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _is_public(embedded)
    # is_global alone lets multicast through (224.0.0.0/4 counts as global).
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_link_local
        or address.is_loopback
        or address.is_private
        or address.is_unspecified
    )


def _ascii_host(hostname: str) -> str:
    if hostname.isascii():
        return hostname
    try:
        return hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeAddress("invalid host name")


def check_url(url: str) -> tuple[str, str, int, list[str]]:
    """Validate a URL and resolve its host: (scheme, host, port, addresses).

    Raises UnsafeAddress for anything that must never be fetched, FetchError when the
    host does not resolve.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UnsafeAddress("invalid URL")
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeAddress("unsupported scheme")
    if "@" in parts.netloc:
        # Credentials in a URL are never legitimate here and confuse host parsing.
        raise UnsafeAddress("credentials in URL")
    if not parts.hostname:
        raise UnsafeAddress("missing host")
    try:
        port = parts.port
    except ValueError:
        raise UnsafeAddress("invalid port")
    if port is None:
        port = DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise UnsafeAddress("invalid port")
    host = _ascii_host(parts.hostname)

    try:
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise FetchError("cannot resolve host")
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise FetchError("cannot resolve host")

    for address in addresses:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            raise UnsafeAddress(f"unexpected address {address}")
        # Tests and instances sharing one machine talk over loopback; nothing else private.
        if not _is_public(parsed) and not (
            settings.FEDERATION_ALLOW_LOOPBACK and parsed.is_loopback
        ):
            # One bad address is enough: the connection could land on any of them.
            raise UnsafeAddress(f"non-public address {address}")
    return scheme, host, port, addresses


# --- connections pinned to the checked addresses --------------------------------------


def _connect_any(addresses: list[str], port: int, timeout: float) -> socket.socket:
    last_error: OSError = OSError("no address")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            last_error = exc
    raise last_error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to already-checked addresses instead of a fresh DNS lookup."""

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses
        self._connect_timeout = timeout

    def connect(self) -> None:
        self.sock = _connect_any(self._addresses, self.port, self._connect_timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, over TLS with the certificate checked against the host name."""

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses = addresses
        self._connect_timeout = timeout

    def connect(self) -> None:
        sock = _connect_any(self._addresses, self.port, self._connect_timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


# --- requests ------------------------------------------------------------------------


def user_agent() -> str:
    try:
        version = importlib.metadata.version("conciergerie")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"Conciergerie/{version} (+{settings.BASE_URL})"


def _network_error(exc: Exception) -> FetchError:
    if isinstance(exc, TimeoutError):
        return FetchError("timed out")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(f"TLS certificate error: {exc.verify_message}")
    if isinstance(exc, ssl.SSLError):
        return FetchError(f"TLS error: {exc.reason or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return FetchError("connection refused")
    if isinstance(exc, http.client.HTTPException):
        return FetchError(f"bad HTTP response ({type(exc).__name__})")
    return FetchError(f"connection error: {exc}")


def _read_body(
    response: http.client.HTTPResponse,
    sock: socket.socket | None,
    *,
    max_bytes: int,
    deadline: float,
    truncate: bool,
) -> bytes:
    length = response.getheader("content-length")
    if length is not None and not truncate:
        try:
            announced = int(length)
        except ValueError:
            announced = None
        if announced is not None and announced > max_bytes:
            raise FetchError("response too large")
    chunks: list[bytes] = []
    total = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            # A server dripping bytes must not hold a worker beyond the timeout.
            raise FetchError("timed out")
        if response.isclosed():  # http.client closes the socket once the body is complete
            break
        if sock is not None:
            sock.settimeout(remaining)
        # read1: at most one system call, so a server dripping bytes meets the deadline
        # check above; one byte past the limit is enough to know the body is too large.
        chunk = response.read1(min(_CHUNK, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            if truncate:
                return b"".join(chunks)[:max_bytes]
            raise FetchError("response too large")
    return b"".join(chunks)


def _send_once(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: bytes | None,
    timeout: float,
    max_bytes: int,
    truncate: bool,
    read_redirect_body: bool,
) -> tuple[Response, str | None]:
    """One exchange; returns the response and, for a redirect, its Location."""
    scheme, host, port, addresses = check_url(url)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, addresses=addresses, timeout=timeout)
    deadline = time.monotonic() + timeout
    given = {name.lower() for name in headers}
    defaults = {"User-Agent": user_agent(), "Connection": "close"}
    send = {
        # The caller's headers win, whatever their case (no duplicate User-Agent).
        **{name: value for name, value in defaults.items() if name.lower() not in given},
        **{name: value for name, value in headers.items() if name.lower() != "host"},
        # Always the value derived from the URL: it is what the request was signed with.
        "Host": signatures.host_header(url),
    }
    raw: http.client.HTTPResponse | None = None
    try:
        connection.request(method, signatures.request_path(url), body=body, headers=send)
        sock = connection.sock
        raw = connection.getresponse()
        received: dict[str, str] = {}
        for name, value in raw.getheaders():
            key = name.lower()
            received[key] = f"{received[key]}, {value}" if key in received else value
        location = raw.getheader("location") if raw.status in REDIRECT_STATUSES else None
        if location is not None and not read_redirect_body:
            content = b""
        else:
            content = _read_body(
                raw, sock, max_bytes=max_bytes, deadline=deadline, truncate=truncate
            )
    except FetchError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _network_error(exc)
    finally:
        if raw is not None:
            raw.close()
        connection.close()
    return Response(status=raw.status, headers=received, body=content, url=url), location


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
    follow_redirects: int = 3,
    signer: Signer | None = None,
    truncate_body: bool = False,
) -> Response:
    """Send one request to an untrusted URL and return the response, whatever its status.

    Redirects are followed for GET only, each target checked again. ``signer``, given a
    URL, returns headers to add (a fresh signature for each hop, since Host and
    (request-target) change). With ``truncate_body`` an oversized body is cut at
    ``max_bytes`` instead of raising (for POSTs, whose status matters, not the body).
    Raises UnsafeAddress for refused URLs and FetchError for any other failure.
    """
    method = method.upper()
    timeout = settings.FEDERATION_HTTP_TIMEOUT if timeout is None else timeout
    max_bytes = settings.FEDERATION_MAX_BODY_BYTES if max_bytes is None else max_bytes
    base_headers = dict(headers or {})
    current = url
    hops = 0
    while True:
        hop_headers = dict(base_headers)
        if hops:
            # Credentials bound to the first URL must not travel to wherever it redirects.
            hop_headers = {
                name: value
                for name, value in hop_headers.items()
                if name.lower() not in ("signature", "authorization", "cookie")
            }
        if signer is not None:
            hop_headers.update(signer(current))
        follow = method == "GET"
        response, location = _send_once(
            method,
            current,
            headers=hop_headers,
            body=body,
            timeout=timeout,
            max_bytes=max_bytes,
            truncate=truncate_body,
            read_redirect_body=not follow,
        )
        if location is None or not follow:
            return response
        hops += 1
        if hops > follow_redirects:
            raise FetchError("too many redirects")
        current = urljoin(current, location.strip())


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def get_json(
    url: str,
    *,
    key_id: str | None = None,
    private_key_pem: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """GET an ActivityPub document (signed when a key is given) and return the JSON object.

    A bad signing key raises signatures.SignatureError: that is a local fault, not a
    network one.
    """
    if (key_id is None) != (private_key_pem is None):
        raise ValueError("key_id and private_key_pem go together")
    signer: Signer | None = None
    if key_id is not None and private_key_pem is not None:
        signing_key_id, signing_key = key_id, private_key_pem

        def signer(target: str) -> dict[str, str]:
            return signatures.sign_headers(
                method="GET",
                url=target,
                body=None,
                key_id=signing_key_id,
                private_key_pem=signing_key,
                accept=ACCEPT,
            )

    response = request("GET", url, headers={"Accept": ACCEPT}, timeout=timeout, signer=signer)
    if response.status != 200:
        raise FetchError(f"HTTP {response.status}")
    if _media_type(response.headers.get("content-type", "")) not in JSON_MEDIA_TYPES:
        raise FetchError("not JSON")
    try:
        document = json.loads(response.body)
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8 too; RecursionError a pathologically nested body.
        raise FetchError("invalid JSON")
    if not isinstance(document, dict):
        raise FetchError("not a JSON object")
    return document


def post_json(
    url: str,
    payload: bytes,
    *,
    key_id: str,
    private_key_pem: str,
    timeout: float | None = None,
) -> Response:
    """POST a signed activity; the response is returned whatever its status.

    The caller decides what to retry: FetchError is a network failure (retry),
    UnsafeAddress a refused URL (do not), and the status tells the rest.
    """
    headers = signatures.sign_headers(
        method="POST",
        url=url,
        body=payload,
        key_id=key_id,
        private_key_pem=private_key_pem,
        content_type=ACTIVITY_JSON,
    )
    return request(
        "POST",
        url,
        headers=headers,
        body=payload,
        timeout=timeout,
        follow_redirects=0,
        truncate_body=True,
    )
