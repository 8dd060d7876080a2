"""What goes over the wire (client/wire.py): the checked base URL and token, requests, bodies."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cellcast import DEFAULT_BASE_URL, __version__
from airflow_provider_cellcast.client.wire import (
    ACCEPT_ENCODING,
    USER_AGENT,
    ApiRequest,
    BodyReader,
    build_request,
    check_base_url,
    check_token,
    environment_proxy,
    environment_verify,
)
from airflow_provider_cellcast.envelope import parse_response
from airflow_provider_cellcast.exceptions import CellcastConfigurationError, CellcastInvalidResponseError

WHERE = "Connection 'cc'"
TOKEN = "tok-wire-4e8d1a"

# -- the base URL ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://api.cellcast.com", "https://api.cellcast.com"),
        ("https://api.cellcast.com/", "https://api.cellcast.com"),
        ("  https://api.cellcast.com/  ", "https://api.cellcast.com"),
        ("HTTPS://API.Cellcast.COM:443/base/", "https://api.cellcast.com:443/base"),
        ("http://127.0.0.1:8079/", "http://127.0.0.1:8079"),
        ("http://127.5.5.5", "http://127.5.5.5"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_accepted_base_urls_are_rebuilt_from_their_parts(url: str, canonical: str) -> None:
    assert check_base_url(url, allow_insecure_http=False, where=WHERE) == (canonical, False)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:s3cret-pass@api.cellcast.com",
        "https://s3cret-pass@api.cellcast.com",
        "https://api.cellcast.com@evil.test",
        "https://evil.test\\@api.cellcast.com",
        "https://user:s3cret-pass@api.cellcast.com#fragment",
    ],
)
def test_credentials_in_the_url_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(CellcastConfigurationError, match="credentials") as raised:
        check_base_url(url, allow_insecure_http=True, where=WHERE)
    assert "s3cret-pass" not in str(raised.value) and "evil.test" not in str(raised.value)
    assert WHERE in str(raised.value) and isinstance(raised.value, AirflowFailException)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.cellcast.com\\evil.test",
        "https:\\\\api.cellcast.com",
        "https://api.cellcast.com/a b",
        "https://api.cellcast.com/\tx",
        "https://api.cellcast.com/\x00",
        "https://api.cellcast.com/\x7f",
        "https://api.cellcast.com/\r\nX-Injected: 1",
    ],
)
def test_backslashes_spaces_and_control_characters_are_refused(url: str) -> None:
    with pytest.raises(CellcastConfigurationError, match="backslashes, spaces or control characters") as raised:
        check_base_url(url, allow_insecure_http=True, where=WHERE)
    assert "evil.test" not in str(raised.value) and "Injected" not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.cellcast.com#fragment",
        "https://api.cellcast.com#",
        "https://api.cellcast.com?x=1",
        "https://api.cellcast.com?",
        "ftp://api.cellcast.com",
        "file:///etc/passwd",
        "api.cellcast.com",
        "https://",
        "https://[fe80::1%25eth0]",
        "https://api.cellcast.com:99999",
    ],
)
def test_queries_fragments_other_schemes_and_empty_hosts_are_refused(url: str) -> None:
    with pytest.raises(CellcastConfigurationError, match="invalid API base URL"):
        check_base_url(url, allow_insecure_http=True, where=WHERE)


@pytest.mark.parametrize("url", ["http://api.cellcast.com", "http://10.0.0.8:8079", "http://0.0.0.0"])
def test_plain_http_to_a_host_that_is_not_loopback(url: str) -> None:
    with pytest.raises(CellcastConfigurationError, match="unencrypted"):
        check_base_url(url, allow_insecure_http=False, where=WHERE)
    checked, insecure = check_base_url(url, allow_insecure_http=True, where=WHERE)
    assert insecure is True and checked == url


def test_https_is_never_insecure() -> None:
    assert check_base_url("https://10.0.0.8", allow_insecure_http=True, where=WHERE) == ("https://10.0.0.8", False)


# -- the token --------------------------------------------------------------------------------------


def test_the_token_is_stripped() -> None:
    assert check_token(f"  {TOKEN}\n", WHERE) == TOKEN
    assert check_token(f"{TOKEN}\r\n", WHERE) == TOKEN  # a line break at the end is pasting, not the token


@pytest.mark.parametrize("token", [None, "", "   "])
def test_no_token(token: str | None) -> None:
    with pytest.raises(CellcastConfigurationError, match="no API token") as raised:
        check_token(token, WHERE)
    assert WHERE in str(raised.value)


@pytest.mark.parametrize(
    ("token", "match"),
    [
        ("tok-secret\nX-Injected: 1", "control character"),
        ("tok-\x00secret", "control character"),
        ("tok-\x7fsecret", "control character"),
        ("tok-sécret", "outside ASCII"),
        ("tok-secret\u200b", "outside ASCII"),
    ],
)
def test_tokens_that_cannot_travel_in_a_header_are_refused_without_showing_them(token: str, match: str) -> None:
    with pytest.raises(CellcastConfigurationError, match=match) as raised:
        check_token(token, WHERE)
    assert "secret" not in str(raised.value)


# -- requests ---------------------------------------------------------------------------------------


def test_a_json_request() -> None:
    request = ApiRequest("POST", "/api/v1/gateway", json={"message": "Grüße", "contacts": ["+61400000001"]})
    http = build_request(request, DEFAULT_BASE_URL, TOKEN)
    assert (http.method, http.url) == ("POST", f"{DEFAULT_BASE_URL}/api/v1/gateway")
    assert http.headers == {
        "Authorization": f"Bearer {TOKEN}",
        "Accept": "application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
    }
    assert http.body == '{"message":"Grüße","contacts":["+61400000001"]}'.encode()
    assert json.loads(http.body) == request.json
    assert USER_AGENT == f"airflow-provider-cellcast/{__version__}" and ACCEPT_ENCODING == "gzip, deflate"


def test_a_query_drops_absent_values_and_is_encoded() -> None:
    request = ApiRequest("GET", "api/v2/report/message", params={"customString": "camp 7&x", "status": None, "page": 2})
    http = build_request(request, "https://eu.example.test/base", TOKEN)
    assert http.url == "https://eu.example.test/base/api/v2/report/message?customString=camp+7%26x&page=2"
    assert http.body is None and "Content-Type" not in http.headers


def test_a_multipart_form() -> None:
    request = ApiRequest(
        "POST", "/api/v1/gateway/mms", form={"message": "hi", "media": ("a.png", b"\x89PNG", "image/png")}
    )
    http = build_request(request, DEFAULT_BASE_URL, TOKEN)
    assert http.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert http.body is not None
    assert b'name="message"\r\n\r\nhi' in http.body and b'filename="a.png"' in http.body and b"\x89PNG" in http.body


def test_request_labels() -> None:
    assert ApiRequest("GET", "/x").label == "GET /x"
    assert ApiRequest("GET", "/x", what="status lookup").label == "status lookup"
    assert ApiRequest("POST", "/x").idempotent is True and ApiRequest("POST", "/x").expect == "app"


# -- what the environment contributes ----------------------------------------------------------------


def test_environment_proxy_and_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    assert environment_proxy(DEFAULT_BASE_URL) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert environment_proxy(DEFAULT_BASE_URL) == "http://proxy.internal:3128"
    monkeypatch.setenv("NO_PROXY", "api.cellcast.com")
    assert environment_proxy(DEFAULT_BASE_URL) is None


def test_environment_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert environment_verify(True) is True
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/curl.pem")
    assert environment_verify(True) == "/etc/curl.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/requests.pem")
    assert environment_verify(True) == "/etc/requests.pem"
    assert environment_verify(False) is False and environment_verify("/mine.pem") == "/mine.pem"


# -- reading bodies -------------------------------------------------------------------------------------


def read(reader: BodyReader, data: bytes, chunk: int = 1000) -> bytes:
    for start in range(0, len(data), chunk):
        reader.feed(data[start : start + chunk])
    return reader.finish()


def deflated(data: bytes) -> bytes:
    return zlib.compress(data)


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [(None, lambda d: d), ("identity", lambda d: d), ("gzip", gzip.compress), ("x-gzip", gzip.compress),
     (" GZIP ", gzip.compress), ("deflate", deflated)],
)  # fmt: skip
def test_bodies_are_decoded(encoding: str | None, encode) -> None:
    data = json.dumps({"status": True, "data": list(range(2000))}).encode()
    assert read(BodyReader(1 << 20, encoding, "a lookup"), encode(data)) == data


def test_exactly_the_limit_is_accepted_one_byte_more_is_not() -> None:
    assert read(BodyReader(4096, None, "x"), b"a" * 4096) == b"a" * 4096
    assert read(BodyReader(4096, "gzip", "x"), gzip.compress(b"a" * 4096)) == b"a" * 4096
    with pytest.raises(CellcastInvalidResponseError, match="larger than 4096 bytes"):
        read(BodyReader(4096, None, "x"), b"a" * 4097)
    with pytest.raises(CellcastInvalidResponseError, match="larger than 4096 bytes"):
        read(BodyReader(4096, "gzip", "x"), gzip.compress(b"a" * 4097))


def test_a_content_length_over_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(
        CellcastInvalidResponseError, match=r"lookup is larger than 1024 bytes \(setting max_response_bytes\)"
    ):
        BodyReader(1024, None, "lookup", content_length="1025")
    assert BodyReader(1024, None, "lookup", content_length="1024").finish() == b""
    # Not trusted for compressed bodies (the decoded size counts), nor when it is not a number.
    assert BodyReader(1024, "gzip", "lookup", content_length="5000").limit == 1024
    assert BodyReader(1024, None, "lookup", content_length="lots").finish() == b""


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("deflate", deflated)])
def test_a_compression_bomb_stops_at_the_limit(encoding: str, compress) -> None:
    bomb = compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB of zeros in about 64 KB
    assert len(bomb) < 200_000
    reader = BodyReader(1024 * 1024, encoding, "a lookup")
    tracemalloc.start()
    try:
        with pytest.raises(CellcastInvalidResponseError, match="larger than 1048576 bytes"):
            read(reader, bomb, chunk=64 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Never inflated far past the limit: memory stays about the limit plus a chunk, not 64 MiB.
    assert peak < 8 * 1024 * 1024


def test_a_bomb_in_one_chunk_stops_at_the_limit() -> None:
    reader = BodyReader(2048, "gzip", "x")
    with pytest.raises(CellcastInvalidResponseError, match="larger than 2048"):
        reader.feed(gzip.compress(b"z" * 10_000_000))


@pytest.mark.parametrize("encoding", ["br", "compress", "zstd", "gzip, br"])
def test_an_encoding_that_was_not_asked_for_is_refused(encoding: str) -> None:
    with pytest.raises(
        CellcastInvalidResponseError, match=f"content encoding that was not asked for \\({encoding.lower()!r}\\)"
    ):
        BodyReader(1024, encoding, "the cancel")


def test_broken_and_truncated_compressed_bodies_are_invalid_responses() -> None:
    with pytest.raises(CellcastInvalidResponseError, match="not valid"):
        read(BodyReader(1024, "gzip", "x"), b"this is not gzip at all")
    truncated = gzip.compress(json.dumps({"status": True, "data": "b" * 500}).encode())[:-12]
    reader = BodyReader(4096, "gzip", "x")
    reader.feed(truncated)
    partial = reader.finish()
    assert 0 < len(partial) < 500  # what arrived; the envelope reader refuses it
    with pytest.raises(CellcastInvalidResponseError):
        parse_response(200, partial)
