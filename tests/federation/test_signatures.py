"""HTTP Signatures (draft-cavage-12 as used by Mastodon): signing, parsing, verification."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.test import RequestFactory

from conciergerie.federation import signatures
from conciergerie.federation.signatures import SignatureError

NOW = datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC)
INBOX = "https://example.org/inbox"
KEY_ID = "https://example.org/lieux/fabrique#main-key"
BODY = b'{"type": "Follow", "actor": "https://other.example/lieux/x"}'

# draft-cavage-http-signatures, appendix C: a published key, request and signature made by
# another implementation, so the signing string format is checked against the outside world.
DRAFT_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----
"""
DRAFT_HEADERS = {
    "Host": "example.com",
    "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}
DRAFT_BODY = b'{"hello": "world"}'
DRAFT_NOW = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
DRAFT_ALL_HEADERS_SIGNATURE = (
    'keyId="Test",algorithm="rsa-sha256",'
    'headers="(request-target) host date content-type digest content-length",'
    'signature="vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32'
    "NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOk"
    'R0Zkly4zKH7s1dE="'
)
DRAFT_BASIC_SIGNATURE = (
    'keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date",'
    'signature="qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAj'
    "n7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDE"
    'mn04swr2Os0="'
)


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return signatures.generate_key_pair()


@pytest.fixture(scope="module")
def other_keys() -> tuple[str, str]:
    return signatures.generate_key_pair()


def signed_post(private_pem: str, *, url: str = INBOX, body: bytes = BODY, now=NOW):
    return signatures.sign_headers(
        method="POST",
        url=url,
        body=body,
        key_id=KEY_ID,
        private_key_pem=private_pem,
        now=now,
        content_type="application/activity+json",
    )


def hand_signature(
    private_pem: str,
    *,
    method: str,
    path: str,
    headers: dict[str, str],
    signed: list[str],
    algorithm: str | None = "rsa-sha256",
    extra: str = "",
) -> str:
    """A Signature header built outside sign_headers, for lists sign_headers never makes."""
    params = dict(part.split("=", 1) for part in extra.split(",") if part)
    text = signatures.signing_string(
        method=method, path=path, headers=headers, signed_headers=signed, params=params
    )
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    value = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256()))
    algo = f'algorithm="{algorithm}",' if algorithm else ""
    created = f"{extra}," if extra else ""
    return (
        f'keyId="{KEY_ID}",{algo}{created}headers="{" ".join(signed)}",signature="{value.decode()}"'
    )


def reason(excinfo: pytest.ExceptionInfo[SignatureError]) -> str:
    return excinfo.value.reason


# --- keys and digests ------------------------------------------------------------------


def test_generate_key_pair_gives_matching_rsa_2048_pems(keys):
    private_pem, public_pem = keys
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS8, unencrypted
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")  # SubjectPublicKeyInfo
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    assert private.public_key().public_numbers() == (
        serialization.load_pem_public_key(public_pem.encode()).public_numbers()  # type: ignore[union-attr]
    )


def test_digest_matches_the_published_draft_value():
    assert signatures.digest(DRAFT_BODY) == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    assert signatures.digest(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


# --- the signing string ----------------------------------------------------------------


def test_signing_string_has_the_exact_draft_format():
    text = signatures.signing_string(
        method="POST",
        path="/inbox",
        headers={
            "Host": "example.org",
            "Date": "Sun, 06 Dec 2026 10:00:00 GMT",
            "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        },
        signed_headers=["(request-target)", "host", "date", "digest"],
    )
    assert text == (
        "(request-target): post /inbox\n"
        "host: example.org\n"
        "date: Sun, 06 Dec 2026 10:00:00 GMT\n"
        "digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    )


def test_signing_string_trims_values_and_lowercases_names():
    text = signatures.signing_string(
        method="GET",
        path="/Lieux/X?a=B",  # the path keeps its case; only the method is lowercased
        headers={"HOST": "  example.org\t", "X-Custom": " v "},
        signed_headers=["(request-target)", "Host", "x-custom"],
    )
    assert text == "(request-target): get /Lieux/X?a=B\nhost: example.org\nx-custom: v"


def test_signing_string_refuses_a_listed_header_that_is_absent():
    with pytest.raises(SignatureError) as excinfo:
        signatures.signing_string(
            method="GET", path="/", headers={"Host": "a"}, signed_headers=["host", "date"]
        )
    assert reason(excinfo) == "missing signed header: date"


def test_published_draft_signature_verifies():
    headers = {**DRAFT_HEADERS, "Signature": DRAFT_ALL_HEADERS_SIGNATURE}
    signatures.verify(
        method="POST",
        path="/foo?param=value&pet=dog",
        headers=headers,
        body=DRAFT_BODY,
        public_key_pem=DRAFT_PUBLIC_PEM,
        now=DRAFT_NOW,
    )


def test_published_draft_signature_fails_for_another_query():
    headers = {**DRAFT_HEADERS, "Signature": DRAFT_ALL_HEADERS_SIGNATURE}
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/foo?param=value&pet=cat",
            headers=headers,
            body=DRAFT_BODY,
            public_key_pem=DRAFT_PUBLIC_PEM,
            now=DRAFT_NOW,
        )
    assert reason(excinfo) == "bad signature"


def test_published_basic_signature_of_a_post_is_refused_without_digest():
    # A valid signature, but a POST whose body is not covered could be replayed with
    # another body: Mastodon's rule, ours too.
    headers = {**DRAFT_HEADERS, "Signature": DRAFT_BASIC_SIGNATURE}
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/foo?param=value&pet=dog",
            headers=headers,
            body=DRAFT_BODY,
            public_key_pem=DRAFT_PUBLIC_PEM,
            now=DRAFT_NOW,
        )
    assert reason(excinfo) == "missing signed header: digest"


# --- sign_headers ----------------------------------------------------------------------


def test_signed_get_has_no_digest_and_round_trips(keys):
    private_pem, public_pem = keys
    headers = signatures.sign_headers(
        method="GET",
        url="https://Example.org:8443/lieux/fabrique?page=2",
        body=None,
        key_id=KEY_ID,
        private_key_pem=private_pem,
        now=NOW,
        accept="application/activity+json",
    )
    assert headers["Host"] == "example.org:8443"
    assert headers["Date"] == "Sun, 06 Dec 2026 10:00:00 GMT"
    assert headers["Accept"] == "application/activity+json"
    assert "Digest" not in headers
    params = signatures.parse_signature(headers["Signature"])
    assert params["keyId"] == KEY_ID
    assert params["algorithm"] == "rsa-sha256"
    assert params["headers"] == "(request-target) host date"
    signatures.verify(
        method="GET",
        path="/lieux/fabrique?page=2",
        headers=headers,
        body=None,
        public_key_pem=public_pem,
        now=NOW,
    )


def test_signed_post_covers_digest_and_content_type_and_round_trips(keys):
    private_pem, public_pem = keys
    headers = signed_post(private_pem)
    assert headers["Host"] == "example.org"  # default port left out
    assert headers["Digest"] == signatures.digest(BODY)
    assert headers["Content-Type"] == "application/activity+json"
    params = signatures.parse_signature(headers["Signature"])
    assert params["headers"] == "(request-target) host date digest content-type"
    signatures.verify(
        method="POST", path="/inbox", headers=headers, body=BODY, public_key_pem=public_pem, now=NOW
    )


def test_signature_of_sign_headers_is_over_the_documented_string(keys):
    # Checked with the raw public key, not with verify(): guards against the signer and the
    # verifier agreeing on a wrong format.
    private_pem, public_pem = keys
    headers = signed_post(private_pem)
    expected = (
        "(request-target): post /inbox\n"
        "host: example.org\n"
        "date: Sun, 06 Dec 2026 10:00:00 GMT\n"
        f"digest: {signatures.digest(BODY)}\n"
        "content-type: application/activity+json"
    )
    signature = base64.b64decode(signatures.parse_signature(headers["Signature"])["signature"])
    public = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, expected.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_sign_headers_refuses_a_bad_private_key():
    with pytest.raises(SignatureError) as excinfo:
        signatures.sign_headers(
            method="GET", url=INBOX, body=None, key_id=KEY_ID, private_key_pem="not a key"
        )
    assert reason(excinfo) == "bad key"


# --- verify: what must fail ------------------------------------------------------------


def test_tampered_body_is_a_digest_mismatch(keys):
    private_pem, public_pem = keys
    headers = signed_post(private_pem)
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY + b" ",
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "digest mismatch"


def test_tampered_path_is_a_bad_signature(keys):
    private_pem, public_pem = keys
    headers = signed_post(private_pem)
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/other-inbox",
            headers=headers,
            body=BODY,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "bad signature"


def test_tampered_signed_header_is_a_bad_signature(keys):
    private_pem, public_pem = keys
    headers = {**signed_post(private_pem), "Content-Type": "text/plain"}
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "bad signature"


def test_wrong_key_is_a_bad_signature(keys, other_keys):
    headers = signed_post(keys[0])
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem=other_keys[1],
            now=NOW,
        )
    assert reason(excinfo) == "bad signature"


@pytest.mark.parametrize(
    ("signed_at", "expected"),
    [
        (NOW - timedelta(hours=2), "expired"),
        (NOW + timedelta(hours=2), "date in the future"),
    ],
)
def test_date_outside_the_window_is_refused(keys, signed_at, expected):
    private_pem, public_pem = keys
    headers = signed_post(private_pem, now=signed_at)
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem=public_pem,
            now=NOW,
            max_age=3600,
        )
    assert reason(excinfo) == expected


def test_date_inside_the_window_is_accepted(keys):
    private_pem, public_pem = keys
    headers = signed_post(private_pem, now=NOW - timedelta(minutes=59))
    signatures.verify(
        method="POST",
        path="/inbox",
        headers=headers,
        body=BODY,
        public_key_pem=public_pem,
        now=NOW,
        max_age=3600,
    )


def test_max_age_defaults_to_the_setting(keys, settings):
    private_pem, public_pem = keys
    headers = signed_post(private_pem, now=NOW - timedelta(minutes=10))
    settings.FEDERATION_SIGNATURE_MAX_AGE = 300
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "expired"


def test_unparseable_date_is_refused(keys):
    private_pem, public_pem = keys
    base = {"Host": "example.org", "Date": "yesterday"}
    headers = {
        **base,
        "Signature": hand_signature(
            private_pem,
            method="GET",
            path="/",
            headers=base,
            signed=["(request-target)", "host", "date"],
        ),
    }
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="GET", path="/", headers=headers, body=None, public_key_pem=public_pem, now=NOW
        )
    assert reason(excinfo) == "bad date"


@pytest.mark.parametrize(
    ("signed", "missing"),
    [
        (["host", "date", "digest"], "(request-target)"),
        (["(request-target)", "date", "digest"], "host"),
        (["(request-target)", "host", "digest"], "date"),
        (["(request-target)", "host", "date"], "digest"),
    ],
)
def test_signature_must_cover_the_required_headers(keys, signed, missing):
    private_pem, public_pem = keys
    base = {k: v for k, v in signed_post(private_pem).items() if k != "Signature"}
    headers = {
        **base,
        "Signature": hand_signature(
            private_pem, method="POST", path="/inbox", headers=base, signed=signed
        ),
    }
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == f"missing signed header: {missing}"


def test_default_header_list_is_date_only_and_refused(keys):
    private_pem, public_pem = keys
    base = {"Host": "example.org", "Date": signatures.http_date(NOW)}
    value = hand_signature(private_pem, method="GET", path="/", headers=base, signed=["date"])
    value = value.replace(',headers="date"', "")
    assert signatures.parse_signature(value)["headers"] == "date"
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="GET",
            path="/",
            headers={**base, "Signature": value},
            body=None,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "missing signed header: (request-target)"


def test_post_without_digest_header_is_refused(keys):
    private_pem, public_pem = keys
    headers = {k: v for k, v in signed_post(private_pem).items() if k != "Digest"}
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "missing Digest header"


def test_digest_of_another_algorithm_is_refused(keys):
    private_pem, public_pem = keys
    base = {
        **{k: v for k, v in signed_post(private_pem).items() if k != "Signature"},
        "Digest": "SHA-512=" + base64.b64encode(b"x" * 64).decode(),
    }
    headers = {
        **base,
        "Signature": hand_signature(
            private_pem,
            method="POST",
            path="/inbox",
            headers=base,
            signed=["(request-target)", "host", "date", "digest"],
        ),
    }
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "unsupported digest algorithm"


def test_digest_listing_several_algorithms_in_any_case_is_accepted(keys):
    private_pem, public_pem = keys
    sha256 = signatures.digest(BODY).split("=", 1)[1]
    base = {
        **{k: v for k, v in signed_post(private_pem).items() if k != "Signature"},
        "Digest": f"SHA-512=AAAA, sha-256={sha256}",
    }
    headers = {
        **base,
        "Signature": hand_signature(
            private_pem,
            method="POST",
            path="/inbox",
            headers=base,
            signed=["(request-target)", "host", "date", "digest"],
        ),
    }
    signatures.verify(
        method="POST", path="/inbox", headers=headers, body=BODY, public_key_pem=public_pem, now=NOW
    )


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha1", "ed25519"])
def test_unsupported_algorithm_is_refused(keys, algorithm):
    private_pem, public_pem = keys
    headers = signed_post(private_pem)
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", algorithm)
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "unsupported algorithm"


@pytest.mark.parametrize("algorithm", ["hs2019", "RSA-SHA256", None])
def test_hs2019_uppercase_and_absent_algorithm_are_rsa_sha256(keys, algorithm):
    private_pem, public_pem = keys
    base = {k: v for k, v in signed_post(private_pem).items() if k != "Signature"}
    headers = {
        **base,
        "Signature": hand_signature(
            private_pem,
            method="POST",
            path="/inbox",
            headers=base,
            signed=["(request-target)", "host", "date", "digest"],
            algorithm=algorithm,
        ),
    }
    signatures.verify(
        method="POST", path="/inbox", headers=headers, body=BODY, public_key_pem=public_pem, now=NOW
    )


def test_malformed_public_key_is_a_signature_error(keys):
    headers = signed_post(keys[0])
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem="-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n",
            now=NOW,
        )
    assert reason(excinfo) == "bad key"


def test_signature_that_is_not_base64_is_refused(keys):
    private_pem, public_pem = keys
    headers = signed_post(private_pem)
    value = signatures.parse_signature(headers["Signature"])["signature"]
    headers["Signature"] = headers["Signature"].replace(value, "***not base64***")
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "malformed signature"


def test_missing_signature_header_is_refused(keys):
    private_pem, public_pem = keys
    headers = {k: v for k, v in signed_post(private_pem).items() if k != "Signature"}
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="POST",
            path="/inbox",
            headers=headers,
            body=BODY,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "missing Signature header"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        'keyId="a"',
        'signature="abc"',
        'keyId="a",signature="b',
        'keyId="a" signature="b"',
        'keyId="a",signature="b",',
        'keyId="a",keyId="b",signature="c"',
        '="a",keyId="a",signature="b"',
        'keyId=a=b,signature="c"',
        "keyId=,signature=",
    ],
)
def test_malformed_signature_headers_raise_signature_error_only(keys, value):
    with pytest.raises(SignatureError):
        signatures.parse_signature(value)
    with pytest.raises(SignatureError):
        signatures.verify(
            method="POST",
            path="/inbox",
            headers={**signed_post(keys[0]), "Signature": value},
            body=BODY,
            public_key_pem=keys[1],
            now=NOW,
        )


# --- parsing ---------------------------------------------------------------------------


def test_parse_signature_keeps_commas_equals_plus_and_slashes_inside_quotes():
    params = signatures.parse_signature(
        'keyId="https://ex.org/a?x=1,y=2#key", algorithm="hs2019",\t'
        'headers="(request-target) host date", created=1402170695,'
        'signature="ab+/cd==,ef="'
    )
    assert params == {
        "keyId": "https://ex.org/a?x=1,y=2#key",
        "algorithm": "hs2019",
        "headers": "(request-target) host date",
        "created": "1402170695",
        "signature": "ab+/cd==,ef=",
    }


def test_parse_signature_defaults_headers_to_date():
    assert signatures.parse_signature('keyId="k",signature="s"')["headers"] == "date"


def test_key_id_of_is_case_insensitive_and_refuses_absence(keys):
    headers = signed_post(keys[0])
    assert signatures.key_id_of({"signature": headers["Signature"]}) == KEY_ID
    assert signatures.key_id_of({"SIGNATURE": headers["Signature"]}) == KEY_ID
    with pytest.raises(SignatureError) as excinfo:
        signatures.key_id_of({"Date": headers["Date"]})
    assert reason(excinfo) == "missing Signature header"


def test_verify_looks_headers_up_case_insensitively(keys):
    private_pem, public_pem = keys
    headers = signed_post(private_pem)
    mixed = {
        "signature": headers["Signature"],
        "DATE": headers["Date"],
        "hOsT": headers["Host"],
        "digest": headers["Digest"],
        "CONTENT-TYPE": headers["Content-Type"],
    }
    signatures.verify(
        method="post", path="/inbox", headers=mixed, body=BODY, public_key_pem=public_pem, now=NOW
    )


# --- (created) / (expires) -------------------------------------------------------------


def created_headers(private_pem: str, *, created: int, expires: int, algorithm: str | None):
    base = {"Host": "example.org"}
    return {
        **base,
        "Signature": hand_signature(
            private_pem,
            method="GET",
            path="/actor",
            headers=base,
            signed=["(request-target)", "(created)", "(expires)", "host"],
            algorithm=algorithm,
            extra=f"created={created},expires={expires}",
        ),
    }


def test_created_and_expires_are_honoured_with_hs2019(keys):
    private_pem, public_pem = keys
    now = int(NOW.timestamp())
    headers = created_headers(private_pem, created=now - 10, expires=now + 60, algorithm="hs2019")
    signatures.verify(
        method="GET", path="/actor", headers=headers, body=None, public_key_pem=public_pem, now=NOW
    )


def test_past_expires_is_refused(keys):
    private_pem, public_pem = keys
    now = int(NOW.timestamp())
    headers = created_headers(private_pem, created=now - 120, expires=now - 60, algorithm="hs2019")
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="GET",
            path="/actor",
            headers=headers,
            body=None,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "expired"


def test_old_created_is_refused(keys):
    private_pem, public_pem = keys
    now = int(NOW.timestamp())
    headers = created_headers(
        private_pem, created=now - 7200, expires=now + 3600, algorithm="hs2019"
    )
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="GET",
            path="/actor",
            headers=headers,
            body=None,
            public_key_pem=public_pem,
            now=NOW,
            max_age=3600,
        )
    assert reason(excinfo) == "expired"


def test_created_pseudo_header_is_refused_with_rsa_sha256(keys):
    private_pem, public_pem = keys
    now = int(NOW.timestamp())
    headers = created_headers(private_pem, created=now, expires=now + 60, algorithm="rsa-sha256")
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="GET",
            path="/actor",
            headers=headers,
            body=None,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert "not allowed" in reason(excinfo)


# --- query strings ---------------------------------------------------------------------


def test_signature_without_the_query_is_accepted_for_old_mastodon(keys):
    # Mastodon < 4.3 signed (request-target) without the query string.
    private_pem, public_pem = keys
    headers = signatures.sign_headers(
        method="GET",
        url="https://example.org/outbox",
        body=None,
        key_id=KEY_ID,
        private_key_pem=private_pem,
        now=NOW,
    )
    signatures.verify(
        method="GET",
        path="/outbox?page=1",
        headers=headers,
        body=None,
        public_key_pem=public_pem,
        now=NOW,
    )


def test_signature_over_one_query_does_not_cover_another(keys):
    private_pem, public_pem = keys
    headers = signatures.sign_headers(
        method="GET",
        url="https://example.org/outbox?page=1",
        body=None,
        key_id=KEY_ID,
        private_key_pem=private_pem,
        now=NOW,
    )
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify(
            method="GET",
            path="/outbox?page=2",
            headers=headers,
            body=None,
            public_key_pem=public_pem,
            now=NOW,
        )
    assert reason(excinfo) == "bad signature"


# --- Django requests -------------------------------------------------------------------


def django_post(headers: dict[str, str], body: bytes):
    extra = {k: v for k, v in headers.items() if k != "Content-Type"}
    return RequestFactory().post(
        "/inbox", data=body, content_type=headers["Content-Type"], headers=extra
    )


def test_verify_django_request_accepts_a_signed_post(keys):
    private_pem, public_pem = keys
    request = django_post(signed_post(private_pem), BODY)
    signatures.verify_django_request(request, public_pem, now=NOW)


def test_verify_django_request_refuses_a_body_that_differs(keys):
    private_pem, public_pem = keys
    request = django_post(signed_post(private_pem), BODY.replace(b"Follow", b"Undo"))
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify_django_request(request, public_pem, now=NOW)
    assert reason(excinfo) == "digest mismatch"


def test_verify_django_request_refuses_another_path(keys):
    private_pem, public_pem = keys
    headers = signed_post(private_pem, url="https://example.org/lieux/autre/inbox")
    request = django_post(headers, BODY)
    with pytest.raises(SignatureError) as excinfo:
        signatures.verify_django_request(request, public_pem, now=NOW)
    assert reason(excinfo) == "bad signature"
