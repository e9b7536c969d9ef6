"""Outbound federation HTTP: SSRF guard, pinned connections, size and time limits."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conciergerie.federation import fetch, signatures
from conciergerie.federation.fetch import FetchError, UnsafeAddress

KEY_ID = "https://ici.example/lieux/fabrique#main-key"
ACTOR = {"id": "https://ailleurs.example/lieux/x", "type": "Organization"}

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def reply(status: int, body: bytes = b"", content_type: str = "application/activity+json") -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def make_handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.hits.append(Hit(self.command, self.path, dict(self.headers.items()), body))
            route = server.routes.get(self.path.split("?", 1)[0], reply(404, b"{}"))
            # The client may give up before the answer is written, as some tests intend.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                route(self)

        do_GET = do_POST = handle_any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def start(tls: ssl.SSLContext | None = None) -> tuple[ThreadingHTTPServer, Server]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server = Server(port=httpd.server_address[1])
    httpd.RequestHandlerClass = make_handler(server)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    return httpd, server


@pytest.fixture
def server() -> Iterator[Server]:
    httpd, srv = start()
    try:
        yield srv
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def allow_private(settings):
    settings.FEDERATION_ALLOW_LOOPBACK = True
    return settings


@pytest.fixture
def deny_private(settings):
    settings.FEDERATION_ALLOW_LOOPBACK = False
    return settings


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return signatures.generate_key_pair()


def fake_dns(monkeypatch, table: dict[str, list[str]]) -> list[str]:
    """Make socket.getaddrinfo answer from ``table``; returns the list of names looked up."""
    asked: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:  # socket.create_connection "resolves" the IP it is given: let that through
            return real_getaddrinfo(host, port, *args, **kwargs)
        asked.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port, 0, 0) if ":" in ip else (ip, port),
            )
            for ip in table[host]
        ]

    monkeypatch.setattr(fetch.socket, "getaddrinfo", getaddrinfo)
    return asked


# --- check_url -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/actor",
        "http://localhost:{port}/actor",
        "http://[::ffff:127.0.0.1]:{port}/actor",
        "http://2130706433:{port}/actor",  # 127.0.0.1 written as one number
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http://224.0.0.1/",  # multicast counts as "global" for ipaddress
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    ],
)
def test_private_addresses_are_refused_and_never_contacted(deny_private, server, url):
    target = url.format(port=server.port)
    with pytest.raises(UnsafeAddress) as excinfo:
        fetch.check_url(target)
    assert "non-public address" in excinfo.value.reason
    with pytest.raises(UnsafeAddress):
        fetch.get_json(target, timeout=1)
    with pytest.raises(UnsafeAddress):
        fetch.request("GET", target, timeout=1)
    assert server.hits == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://example.org/", "unsupported scheme"),
        ("file:///etc/passwd", "unsupported scheme"),
        ("gopher://127.0.0.1:{port}/", "unsupported scheme"),
        ("http://user:pw@example.org/", "credentials in URL"),
        ("http://user@127.0.0.1:{port}/", "credentials in URL"),
        ("http:///nohost", "missing host"),
        ("http://example.org:0/", "invalid port"),
        ("http://example.org:99999/", "invalid port"),
        ("http://example.org:http/", "invalid port"),
    ],
)
def test_malformed_urls_are_refused_before_resolution(monkeypatch, server, url, expected):
    asked = fake_dns(monkeypatch, {"example.org": ["93.184.215.14"]})
    with pytest.raises(UnsafeAddress) as excinfo:
        fetch.check_url(url.format(port=server.port))
    assert excinfo.value.reason == expected
    assert asked == []
    assert server.hits == []


def test_refused_even_when_private_addresses_are_allowed(allow_private, server):
    # The setting opens the address check only, never the scheme or credential rules.
    with pytest.raises(UnsafeAddress):
        fetch.request("GET", f"http://user:pw@127.0.0.1:{server.port}/actor")
    assert server.hits == []


def test_public_address_passes(deny_private, monkeypatch):
    asked = fake_dns(monkeypatch, {"example.org": ["93.184.215.14", "2606:2800:21f:cb07::1"]})
    assert fetch.check_url("https://Example.org/lieux/x") == (
        "https",
        "example.org",
        443,
        ["93.184.215.14", "2606:2800:21f:cb07::1"],
    )
    assert asked == ["example.org"]
    assert fetch.check_url("http://93.184.215.14:8080/")[1:3] == ("93.184.215.14", 8080)


def test_host_resolving_to_loopback_is_refused(deny_private, monkeypatch, server):
    # A public-looking name pointing at the loopback: the resolved address is what counts.
    fake_dns(monkeypatch, {"evil.example": ["127.0.0.1"]})
    with pytest.raises(UnsafeAddress) as excinfo:
        fetch.get_json(f"http://evil.example:{server.port}/actor")
    assert excinfo.value.reason == "non-public address 127.0.0.1"
    assert server.hits == []


def test_one_private_address_among_public_ones_is_refused(deny_private, monkeypatch):
    fake_dns(monkeypatch, {"mixed.example": ["93.184.215.14", "10.1.2.3"]})
    with pytest.raises(UnsafeAddress) as excinfo:
        fetch.check_url("https://mixed.example/")
    assert excinfo.value.reason == "non-public address 10.1.2.3"


def test_unresolvable_host_is_a_plain_fetch_error(deny_private, monkeypatch):
    fake_dns(monkeypatch, {})
    with pytest.raises(FetchError) as excinfo:
        fetch.check_url("https://nowhere.example/")
    assert not isinstance(excinfo.value, UnsafeAddress)  # worth retrying later
    assert excinfo.value.reason == "cannot resolve host"


def test_connection_goes_to_the_checked_address_with_the_original_host(
    allow_private, monkeypatch, server
):
    # Resolved once, by check_url: a second lookup at connect time is what DNS rebinding
    # exploits, so http.client must not make one.
    asked = fake_dns(monkeypatch, {"fedi.example": ["127.0.0.1"]})
    server.routes["/actor"] = reply(200, json.dumps(ACTOR).encode())
    assert fetch.get_json(f"http://fedi.example:{server.port}/actor") == ACTOR
    assert asked == ["fedi.example"]
    assert server.hits[0].headers["Host"] == f"fedi.example:{server.port}"


# --- get_json --------------------------------------------------------------------------


def test_get_json_returns_the_object_with_accept_and_user_agent(allow_private, server, settings):
    server.routes["/actor"] = reply(
        200, json.dumps(ACTOR).encode(), "application/activity+json; charset=utf-8"
    )
    assert fetch.get_json(server.url("/actor")) == ACTOR
    (hit,) = server.hits
    assert hit.method == "GET"
    assert hit.headers["Accept"] == fetch.ACCEPT
    assert hit.headers["User-Agent"].startswith("Conciergerie/")
    assert hit.headers["User-Agent"].endswith(f"(+{settings.BASE_URL})")
    assert "Signature" not in hit.headers


def test_signed_get_verifies_with_the_matching_key(allow_private, server, keys):
    private_pem, public_pem = keys
    server.routes["/actor"] = reply(200, json.dumps(ACTOR).encode())
    fetch.get_json(server.url("/actor?x=1"), key_id=KEY_ID, private_key_pem=private_pem)
    (hit,) = server.hits
    assert signatures.key_id_of(hit.headers) == KEY_ID
    signatures.verify(
        method=hit.method, path=hit.path, headers=hit.headers, body=None, public_key_pem=public_pem
    )
    other_public = signatures.generate_key_pair()[1]
    with pytest.raises(signatures.SignatureError):
        signatures.verify(
            method=hit.method,
            path=hit.path,
            headers=hit.headers,
            body=None,
            public_key_pem=other_public,
        )


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (404, b"{}", "application/json", "HTTP 404"),
        (500, b"{}", "application/json", "HTTP 500"),
        (200, b"<html></html>", "text/html; charset=utf-8", "not JSON"),
        (200, b"[1, 2]", "application/activity+json", "not a JSON object"),
        (200, b'"text"', "application/ld+json", "not a JSON object"),
        (200, b"{nope", "application/json", "invalid JSON"),
        (200, b"\xff\xfe{}", "application/json", "invalid JSON"),
        (200, b"[" * 100_000, "application/json", "invalid JSON"),
    ],
)
def test_get_json_refuses_what_is_not_a_json_object(
    allow_private, server, status, body, content_type, expected
):
    server.routes["/doc"] = reply(status, body, content_type)
    with pytest.raises(FetchError) as excinfo:
        fetch.get_json(server.url("/doc"))
    assert excinfo.value.reason == expected


@pytest.mark.parametrize("content_type", ["application/jrd+json", "application/json"])
def test_get_json_accepts_other_json_types(allow_private, server, content_type):
    server.routes["/.well-known/webfinger"] = reply(200, b'{"subject": "acct:x@y"}', content_type)
    assert fetch.get_json(server.url("/.well-known/webfinger")) == {"subject": "acct:x@y"}


# --- post_json -------------------------------------------------------------------------


def test_post_json_is_signed_with_a_digest_and_returns_the_status(allow_private, server, keys):
    private_pem, public_pem = keys
    payload = json.dumps({"type": "Follow", "actor": KEY_ID}).encode()
    server.routes["/inbox"] = reply(202)
    response = fetch.post_json(
        server.url("/inbox"), payload, key_id=KEY_ID, private_key_pem=private_pem
    )
    assert response.status == 202
    assert response.url == server.url("/inbox")
    (hit,) = server.hits
    assert hit.method == "POST"
    assert hit.body == payload
    assert hit.headers["Content-Type"] == "application/activity+json"
    assert hit.headers["Digest"] == signatures.digest(payload)
    assert "digest" in signatures.parse_signature(hit.headers["Signature"])["headers"]
    signatures.verify(
        method="POST", path=hit.path, headers=hit.headers, body=hit.body, public_key_pem=public_pem
    )
    with pytest.raises(signatures.SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path=hit.path,
            headers=hit.headers,
            body=payload + b" ",
            public_key_pem=public_pem,
        )
    assert excinfo.value.reason == "digest mismatch"


@pytest.mark.parametrize("status", [500, 429, 410])
def test_post_json_returns_error_statuses_instead_of_raising(allow_private, server, keys, status):
    server.routes["/inbox"] = reply(status, b'{"error": "later"}', "application/json")
    response = fetch.post_json(server.url("/inbox"), b"{}", key_id=KEY_ID, private_key_pem=keys[0])
    assert response.status == status
    assert response.body == b'{"error": "later"}'
    assert response.headers["content-type"] == "application/json"


def test_post_json_does_not_follow_redirects(allow_private, server, keys):
    server.routes["/inbox"] = redirect("/elsewhere", 307)
    response = fetch.post_json(server.url("/inbox"), b"{}", key_id=KEY_ID, private_key_pem=keys[0])
    assert response.status == 307
    assert [hit.path for hit in server.hits] == ["/inbox"]


def test_post_json_to_a_private_address_is_unsafe(deny_private, server, keys):
    with pytest.raises(UnsafeAddress):
        fetch.post_json(server.url("/inbox"), b"{}", key_id=KEY_ID, private_key_pem=keys[0])
    assert server.hits == []


def test_post_json_cuts_an_oversized_answer_instead_of_raising(allow_private, server, keys):
    # The delivery happened; failing here would make the caller deliver it again.
    server.routes["/inbox"] = reply(202, b"x" * 5000, "text/plain")
    response = fetch.request(
        "POST", server.url("/inbox"), body=b"{}", max_bytes=1000, truncate_body=True
    )
    assert response.status == 202
    assert response.body == b"x" * 1000


# --- redirects -------------------------------------------------------------------------


def test_redirect_is_followed_and_re_signed(allow_private, server, keys):
    private_pem, public_pem = keys
    server.routes["/old"] = redirect("/actor")
    server.routes["/actor"] = reply(200, json.dumps(ACTOR).encode())
    assert fetch.get_json(server.url("/old"), key_id=KEY_ID, private_key_pem=private_pem) == ACTOR
    assert [hit.path for hit in server.hits] == ["/old", "/actor"]
    final = server.hits[1]
    signatures.verify(
        method="GET", path=final.path, headers=final.headers, body=None, public_key_pem=public_pem
    )


def test_request_reports_the_final_url(allow_private, server):
    server.routes["/a"] = redirect(server.url("/b"), 301)
    server.routes["/b"] = reply(200, b"{}")
    response = fetch.request("GET", server.url("/a"))
    assert response.status == 200
    assert response.url == server.url("/b")


def test_too_many_redirects(allow_private, server):
    for hop in range(1, 5):
        server.routes[f"/hop{hop}"] = redirect(f"/hop{hop + 1}", 308)
    server.routes["/hop5"] = reply(200, b"{}")
    assert fetch.request("GET", server.url("/hop2"), follow_redirects=3).status == 200
    server.hits.clear()
    with pytest.raises(FetchError) as excinfo:
        fetch.request("GET", server.url("/hop1"), follow_redirects=3)
    assert excinfo.value.reason == "too many redirects"
    assert len(server.hits) == 4  # the first request and three redirects, no fifth


def test_redirect_target_is_checked_again(allow_private, server, monkeypatch):
    server.routes["/old"] = redirect("http://169.254.169.254/latest/meta-data")
    checked: list[str] = []
    real_check = fetch.check_url

    def check_url(url: str):
        # Allow the local test server, apply the real rules to anything else.
        checked.append(url)
        allow_private.FEDERATION_ALLOW_LOOPBACK = url.startswith(server.url(""))
        return real_check(url)

    monkeypatch.setattr(fetch, "check_url", check_url)
    with pytest.raises(UnsafeAddress) as excinfo:
        fetch.get_json(server.url("/old"), timeout=1)
    assert excinfo.value.reason == "non-public address 169.254.169.254"
    assert checked == [server.url("/old"), "http://169.254.169.254/latest/meta-data"]


@pytest.mark.parametrize("location", ["ftp://example.org/x", "http://u:p@127.0.0.1/"])
def test_redirect_to_a_refused_url_raises_unsafe(allow_private, server, location):
    server.routes["/old"] = redirect(location)
    with pytest.raises(UnsafeAddress):
        fetch.get_json(server.url("/old"))
    assert len(server.hits) == 1


# --- size limits -----------------------------------------------------------------------


def big_without_length(size: int, chunked: bool) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        if chunked:
            handler.protocol_version = "HTTP/1.1"
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        sent = 0
        while sent < size:
            piece = b"x" * min(4096, size - sent)
            if chunked:
                handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                handler.wfile.write(piece)
            sent += len(piece)
        if chunked:
            handler.wfile.write(b"0\r\n\r\n")
        handler.close_connection = True

    return route


def test_body_exactly_at_the_limit_is_accepted(allow_private, server):
    server.routes["/doc"] = reply(200, b"y" * 1000)
    assert fetch.request("GET", server.url("/doc"), max_bytes=1000).body == b"y" * 1000


def test_announced_content_length_over_the_limit_is_refused(allow_private, server):
    server.routes["/doc"] = reply(200, b"y" * 1001)
    with pytest.raises(FetchError) as excinfo:
        fetch.request("GET", server.url("/doc"), max_bytes=1000)
    assert excinfo.value.reason == "response too large"


@pytest.mark.parametrize("chunked", [True, False])
def test_unannounced_body_over_the_limit_is_refused(allow_private, server, chunked):
    server.routes["/doc"] = big_without_length(50_000, chunked)
    with pytest.raises(FetchError) as excinfo:
        fetch.request("GET", server.url("/doc"), max_bytes=20_000)
    assert excinfo.value.reason == "response too large"
    # The same body under a larger limit is read whole: the limit, not the framing, refused it.
    assert len(fetch.request("GET", server.url("/doc"), max_bytes=60_000).body) == 50_000


def test_max_bytes_defaults_to_the_setting(allow_private, server, settings):
    settings.FEDERATION_MAX_BODY_BYTES = 100
    server.routes["/actor"] = reply(200, json.dumps({"x": "y" * 200}).encode())
    with pytest.raises(FetchError) as excinfo:
        fetch.get_json(server.url("/actor"))
    assert excinfo.value.reason == "response too large"


# --- time limits and network failures --------------------------------------------------


def test_silent_server_times_out_quickly(allow_private):
    # The kernel completes the handshake for a listening socket; nobody ever answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(FetchError) as excinfo:
            fetch.get_json(f"http://127.0.0.1:{port}/actor", timeout=0.5)
        assert time.monotonic() - started < 3
    assert excinfo.value.reason == "timed out"


def test_dripping_body_is_cut_at_the_timeout(allow_private, server):
    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(100):  # one byte every 0.1 s: each read is quick, the whole is not
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.1)

    server.routes["/slow"] = drip
    started = time.monotonic()
    with pytest.raises(FetchError) as excinfo:
        fetch.get_json(server.url("/slow"), timeout=0.5)
    assert time.monotonic() - started < 3
    assert excinfo.value.reason == "timed out"


def test_refused_connection_is_a_fetch_error(allow_private):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as excinfo:
        fetch.request("GET", f"http://127.0.0.1:{port}/", timeout=2)
    assert excinfo.value.reason == "connection refused"


def test_garbage_response_is_a_fetch_error(allow_private):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"this is not HTTP\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        with pytest.raises(FetchError) as excinfo:
            fetch.request("GET", f"http://127.0.0.1:{listener.getsockname()[1]}/", timeout=2)
        assert excinfo.value.reason.startswith("bad HTTP response")
    finally:
        thread.join(2)
        listener.close()


# --- TLS -------------------------------------------------------------------------------


def make_tls(tmp_path: Path, dns_name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A private CA and a server certificate for ``dns_name``: (server ctx, client ctx)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file, ca_file = (tmp_path / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_file, key_file)
    client_ctx = ssl.create_default_context(cafile=str(ca_file))
    return server_ctx, client_ctx


@pytest.fixture
def tls_server(tmp_path, request) -> Iterator[tuple[Server, ssl.SSLContext]]:
    server_ctx, client_ctx = make_tls(tmp_path, request.param)
    httpd, srv = start(tls=server_ctx)
    srv.routes["/actor"] = reply(200, json.dumps(ACTOR).encode())
    try:
        yield srv, client_ctx
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("tls_server", ["fedi.example"], indirect=True)
def test_https_checks_the_certificate_against_the_host_name(allow_private, monkeypatch, tls_server):
    srv, client_ctx = tls_server
    fake_dns(monkeypatch, {"fedi.example": ["127.0.0.1"]})
    url = f"https://fedi.example:{srv.port}/actor"
    # Not trusted by the system store: refused.
    with pytest.raises(FetchError) as excinfo:
        fetch.get_json(url, timeout=2)
    assert excinfo.value.reason.startswith("TLS certificate error")
    assert srv.hits == []
    # Trusted: connected to 127.0.0.1 yet verified as fedi.example (SNI + host name check).
    monkeypatch.setattr(fetch.ssl, "create_default_context", lambda *a, **k: client_ctx)
    assert fetch.get_json(url, timeout=2) == ACTOR
    assert srv.hits[0].headers["Host"] == f"fedi.example:{srv.port}"


@pytest.mark.parametrize("tls_server", ["other.example"], indirect=True)
def test_https_refuses_a_certificate_for_another_name(allow_private, monkeypatch, tls_server):
    srv, client_ctx = tls_server
    fake_dns(monkeypatch, {"fedi.example": ["127.0.0.1"]})
    monkeypatch.setattr(fetch.ssl, "create_default_context", lambda *a, **k: client_ctx)
    with pytest.raises(FetchError) as excinfo:
        fetch.get_json(f"https://fedi.example:{srv.port}/actor", timeout=2)
    assert excinfo.value.reason.startswith("TLS certificate error")
    assert srv.hits == []


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/", "http://192.168.1.1/", "http://169.254.169.254/", "http://[fc00::1]/"],
)
def test_loopback_allowed_still_refuses_other_private_addresses(allow_private, url):
    with pytest.raises(UnsafeAddress):
        fetch.check_url(url)
