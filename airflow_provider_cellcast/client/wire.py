"""What goes over the wire, without doing any I/O: requests, answers, the base URL, bodies.

Both drivers (``requests`` in :mod:`.transport`, ``aiohttp`` in :mod:`.aio`) send the
:class:`HttpRequest` that :func:`build_request` makes and hand back an :class:`HttpResponse`
whose body went through a :class:`BodyReader`, so the two cannot differ in what they send, where
they send it, or how much of an answer they accept:

* one URL parser (urllib3's, which ``requests`` itself uses) checks the base URL once and builds
  every request URL from the checked parts, so the host that is checked is the host connected;
* the Bearer token of the connection is the only credential: URLs with credentials are refused,
  and the drivers ignore ``~/.netrc`` (proxies from the environment still apply);
* the decoded body is limited (gzip and deflate included), however the server encodes it.
"""

from __future__ import annotations

import ipaddress
import json as jsonlib
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from airflow_provider_cellcast import DEFAULT_BASE_URL, __version__
from airflow_provider_cellcast.exceptions import CellcastConfigurationError, CellcastInvalidResponseError

#: What the drivers ask for: the encodings :class:`BodyReader` can decode within its limit.
ACCEPT_ENCODING = "gzip, deflate"
USER_AGENT = f"airflow-provider-cellcast/{__version__}"


@dataclass(frozen=True)
class ApiRequest:
    """One call of the Cellcast API, as the endpoint modules describe it.

    :ivar endpoint: the path, e.g. ``/api/v1/gateway``.
    :ivar json: a JSON body (sent with ``Content-Type: application/json``).
    :ivar form: multipart fields: ``{name: str}`` or ``{name: (filename, bytes, content_type)}``.
    :ivar idempotent: whether repeating it is harmless (a send is not).
    :ivar transient_refusals: whether a ``status: false`` that does not say "not found" is retried
        like a 503 (the report answers some internal errors that way).
    :ivar expect: the envelope the endpoint documents: only that one can be a success.
    :ivar what: how error texts name the call.
    :ivar message_id: recorded on the errors it raises.
    """

    method: str
    endpoint: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    form: Mapping[str, Any] | None = None
    idempotent: bool = True
    transient_refusals: bool = False
    expect: str = "app"
    what: str = ""
    message_id: str | None = None

    @property
    def label(self) -> str:
        return self.what or f"{self.method} {self.endpoint}"


@dataclass(frozen=True)
class HttpRequest:
    """Bytes and headers ready to send; ``url`` is built from the checked base URL."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None


@dataclass(frozen=True)
class HttpResponse:
    """An answer read in full (within the size limit); ``headers`` keys are lower case."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def build_request(request: ApiRequest, base_url: str, token: str) -> HttpRequest:
    """The HTTP request for ``request``: Bearer token, JSON or multipart body, query string."""
    url = base_url + "/" + request.endpoint.lstrip("/")
    if request.params:
        url += "?" + urlencode({key: value for key, value in request.params.items() if value is not None})
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
        "User-Agent": USER_AGENT,
    }
    body: bytes | None = None
    if request.json is not None:
        body = jsonlib.dumps(request.json, separators=(",", ":"), ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
    elif request.form is not None:
        from urllib3.filepost import encode_multipart_formdata

        body, headers["Content-Type"] = encode_multipart_formdata(dict(request.form))
    return HttpRequest(request.method, url, headers, body)


# -- the base URL and the token -------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, allow_insecure_http: bool, where: str) -> tuple[str, bool]:
    """The canonical API base URL, and whether it is plain HTTP to a host that is not loopback.

    Refused (``CellcastConfigurationError``, never echoing credentials): anything but
    ``http``/``https``, credentials, a query or fragment, backslashes, spaces or control
    characters, an empty host. Plain ``http://`` is refused unless the host is loopback or
    ``allow_insecure_http`` is set. The URL returned is rebuilt from the parsed parts, so every
    request goes to exactly the host that was checked.
    """
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    text = url.strip()
    if "@" in text:
        raise CellcastConfigurationError(
            f"{where} has credentials (user:password@) in its API base URL: remove them. Cellcast is "
            "authenticated by the API token in the connection's password field only."
        )
    if "\\" in text or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise CellcastConfigurationError(
            f"{where} has an API base URL with backslashes, spaces or control characters: use a URL such "
            f"as {DEFAULT_BASE_URL}"
        )
    try:
        parts = parse_url(text)
    except LocationParseError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.host
        or "%" in parts.host
        or parts.query is not None
        or parts.fragment is not None
    ):
        raise CellcastConfigurationError(
            f"{where} has an invalid API base URL {text!r}: use a URL such as {DEFAULT_BASE_URL} "
            "(scheme, host, optional port and path; no query or fragment)"
        )
    insecure = parts.scheme == "http" and not _is_loopback(parts.host)
    if insecure and not allow_insecure_http:
        raise CellcastConfigurationError(
            f"{where} points at plain http://{parts.host}: the API token would travel unencrypted. "
            'Use https://, or set the extra "allow_insecure_http": true if this is a trusted test server.'
        )
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{parts.host}{port}{(parts.path or '').rstrip('/')}", insecure


def base_url_from_fields(host: str | None, schema: str | None, port: int | None, *, default: str, where: str) -> str:
    """The API base URL an Airflow connection's host, schema and port fields name (checked later).

    A host with ``://`` is a URL; otherwise ``schema`` (default ``https``) is put in front. The
    port field fills in a URL without a port; two different ports are refused.
    """
    from urllib3.util import parse_url  # the parser requests itself uses

    text = (host or "").strip() or default
    if "://" not in text:
        text = f"{schema or 'https'}://{text}"
    if port and "@" not in text:  # credentials are refused by check_base_url, never parsed here
        parts = parse_url(text)
        if parts.port is None:
            text = parts._replace(port=port).url
        elif parts.port != port:
            raise CellcastConfigurationError(
                f"{where} names two ports, {parts.port} in its API base URL and {port} in its port field: keep one"
            )
    return text


def check_token(token: str | None, where: str) -> str:
    """The API token, stripped; refused (without showing it) when it cannot travel in a header."""
    token = (token or "").strip()
    if not token:
        raise CellcastConfigurationError(
            f"{where} has no API token: put the Cellcast API token in its password field "
            "(labelled 'API token' in the UI)"
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in token):
        raise CellcastConfigurationError(
            f"{where} has an API token with a line break or another control character: paste the token "
            "again, on one line"
        )
    if not token.isascii():
        raise CellcastConfigurationError(
            f"{where} has an API token with characters outside ASCII: Cellcast tokens are ASCII; paste "
            "the token again from the Cellcast dashboard"
        )
    return token


# -- what the environment contributes: proxies and CA bundles, never credentials -----------------


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``, ``NO_PROXY``...), if any."""
    from requests.utils import get_environ_proxies, select_proxy

    return select_proxy(url, get_environ_proxies(url))


def environment_verify(verify: bool | str) -> bool | str:
    """TLS verification: the setting, or with ``True`` the CA bundle the environment names."""
    if verify is True:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return verify


# -- reading an answer ---------------------------------------------------------------------------


def no_answer_text(
    url: str, what: str, *, deadline: float, expired: bool, never_sent: bool, error: BaseException
) -> str:
    """The text of a ``CellcastConnectionError``: where, for what, and what happened."""
    from urllib3.util import parse_url

    parts = parse_url(url)
    where = f"{parts.scheme}://{parts.host}{f':{parts.port}' if parts.port else ''}"
    if expired:
        return f"Cellcast at {where} sent no complete answer for {what} within the attempt deadline of {deadline:.3g} s"
    if never_sent:
        return f"could not connect to Cellcast at {where} for {what} ({type(error).__name__})"
    return f"Cellcast at {where} sent no complete answer for {what} ({type(error).__name__})"


class BodyReader:
    """Collects an answer's body, decoding gzip or deflate, and refuses more than ``limit`` bytes.

    Decoding is done here rather than by the HTTP library so that the limit holds for the
    decoded size whatever the library version: a 1 MB gzip body that would inflate to 1 GiB
    stops at the limit, and memory stays about ``limit`` plus one chunk.
    """

    def __init__(self, limit: int, content_encoding: str | None, what: str, content_length: str | None = None) -> None:
        self.limit = limit
        self.what = what
        self._parts: list[bytes] = []
        self._size = 0
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._decoder: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = zlib.decompressobj()
        elif encoding == "identity":
            self._decoder = None
        else:
            raise CellcastInvalidResponseError(
                f"Cellcast answered {what} in a content encoding that was not asked for ({encoding!r})"
            )
        if self._decoder is None and content_length and content_length.strip().isdigit():
            if int(content_length) > limit:
                self._too_large()

    def _too_large(self) -> None:
        raise CellcastInvalidResponseError(
            f"Cellcast's answer to {self.what} is larger than {self.limit} bytes (setting max_response_bytes): "
            "not read any further"
        )

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.limit:
            self._too_large()
        self._parts.append(data)

    def feed(self, chunk: bytes) -> None:
        """Add one chunk as it came off the wire."""
        if self._decoder is None:
            self._keep(chunk)
            return
        data = chunk
        try:
            while data:
                # Never inflate more than one byte past the limit, whatever the compression ratio.
                self._keep(self._decoder.decompress(data, self.limit - self._size + 1))
                data = self._decoder.unconsumed_tail
        except zlib.error as error:
            raise CellcastInvalidResponseError(f"Cellcast's answer to {self.what} is not valid {error}") from None

    def finish(self) -> bytes:
        """The whole decoded body."""
        if self._decoder is not None:
            try:
                self._keep(self._decoder.flush())
            except zlib.error as error:
                raise CellcastInvalidResponseError(f"Cellcast's answer to {self.what} is truncated: {error}") from None
        return b"".join(self._parts)
