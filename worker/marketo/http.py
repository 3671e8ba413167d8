"""The HTTP under the SOAP client: keep-alive HTTP/1.1 connections with separate timeouts.

zeep posts through a `Transport`; leadsync's writes each request in one send on a socket it keeps
alive itself, and reads the answer with httptools (the llhttp parser uvicorn uses). requests and
urllib3, which zeep would use, and even the standard library's `http.client` (two writes per
request, and every response's headers through the `email` package) cost more CPU per call than
the rest of a worker's work on a job. A connection the server closed while it idled is noticed
before reuse and replaced. Proxy and CA settings are read from the environment once, as requests
would read them: an https endpoint is reached through an http proxy's CONNECT tunnel, an http
one by absolute URL.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import select
import socket
import ssl
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

import certifi
import httptools
from requests.structures import CaseInsensitiveDict
from zeep.transports import Transport

MAX_IDLE_CONNECTIONS = 4  # one per thread of a `--pool threads` worker sharing the client
MAX_HEAD_BYTES = 65536  # a CONNECT answer's status line and headers
_RECV_BYTES = 65536
_NOT_A_TOKEN = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")  # RFC 9110 field names


class ConnectTimeout(TimeoutError):
    """The endpoint did not accept the connection within the connect timeout."""


class ReadTimeout(TimeoutError):
    """The request was sent but no complete answer came within the read timeout."""


class ProtocolError(http.client.HTTPException):
    """The server's answer is not well-formed HTTP/1.1 (or a proxy refused the tunnel)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The parts of an HTTP response zeep reads."""

    status_code: int
    headers: Any
    content: bytes
    encoding: str | None = None


class KeepAlivePool:
    """Keep-alive connections to one endpoint URL, for POSTs to it."""

    def __init__(self, endpoint: str, *, connect_timeout_s: float, read_timeout_s: float) -> None:
        url = urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self._host = url.hostname
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._authority = url.netloc.rpartition("@")[2]
        self._tls = _tls_context() if url.scheme == "https" else None
        target = url.path + (f"?{url.query}" if url.query else "") or "/"
        self._proxy = _proxy_for(url.scheme, url.hostname)
        proxy_headers = _proxy_authorization(self._proxy)
        self._tunnel_headers: dict[str, str] = {}
        request_headers = {"Host": self._authority, "Accept-Encoding": "identity"}
        if self._proxy is not None and self._tls is None:
            target = endpoint  # plain HTTP through a proxy: the request line names the URL
            request_headers.update(proxy_headers)
        else:
            self._tunnel_headers = proxy_headers
        self._request_head = f"POST {target} HTTP/1.1\r\n" + _header_lines(request_headers)
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def post(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        """POST `body`; raises `ConnectTimeout`, `ReadTimeout`, `OSError` or `HTTPException`."""
        head = self._request_head + _header_lines(headers) + f"Content-Length: {len(body)}\r\n\r\n"
        connection = self._checkout()
        try:
            reply, reusable = connection.exchange(head.encode("latin-1") + body)
        except TimeoutError:
            connection.close()
            raise ReadTimeout(f"no answer within {self.read_timeout_s} s") from None
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._checkin(connection)
        else:
            connection.close()
        return reply

    def clear(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _checkout(self) -> _Connection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._connect()
            if not connection.closed_by_peer():
                return connection
            connection.close()

    def _checkin(self, connection: _Connection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def _connect(self) -> _Connection:
        # The connect timeout covers TCP, the proxy tunnel and the TLS handshake; then the read
        # timeout takes over for the request and its answer.
        address = (self._host, self._port)
        if self._proxy is not None:
            address = (str(self._proxy.hostname), self._proxy.port or 80)
        sock: socket.socket | None = None
        try:
            sock = socket.create_connection(address, timeout=self.connect_timeout_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                if self._proxy is not None:
                    _open_tunnel(sock, self._authority, self._tunnel_headers)
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
            sock.settimeout(self.read_timeout_s)
        except BaseException as error:
            if sock is not None:
                sock.close()
            if isinstance(error, TimeoutError):
                raise ConnectTimeout(f"no connection within {self.connect_timeout_s} s") from None
            raise
        return _Connection(sock)


class PoolTransport(Transport):
    """A zeep transport that posts envelopes on a `KeepAlivePool`."""

    def __init__(self, pool: KeepAlivePool) -> None:
        super().__init__()
        self.pool = pool

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Reply:
        """POST one envelope to the pool's endpoint (zeep's `address` is that same endpoint)."""
        return self.pool.post(message, headers)


class _Connection:
    """One socket carrying requests one after another, each answer read to its end."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def exchange(self, request: bytes) -> tuple[Reply, bool]:
        """Send one request; its reply, and whether the connection can carry another."""
        self._sock.sendall(request)
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        answer.parser = parser
        while not answer.complete:
            data = self._sock.recv(_RECV_BYTES)
            if not data:
                return answer.at_close(), False
            try:
                parser.feed_data(data)
            except httptools.HttpParserError as error:
                if not answer.complete:
                    raise ProtocolError(f"malformed HTTP response: {error}") from None
                answer.trailing = True  # garbage after a whole answer: keep the answer only
        reply = Reply(answer.status, answer.headers, b"".join(answer.body))
        return reply, answer.keep_alive and not answer.trailing

    def closed_by_peer(self) -> bool:
        """An idle keep-alive socket has nothing to read; readable means the server closed it
        (or sent something unasked for): either way it cannot carry a request."""
        poller = select.poll()
        poller.register(self._sock, select.POLLIN)
        return bool(poller.poll(0))

    def close(self) -> None:
        self._sock.close()


class _Answer:
    """httptools callbacks gathering one final (non-1xx) response."""

    def __init__(self) -> None:
        self.parser: Any = None
        self.trailing = False  # bytes after the answer: the connection is not reused
        self.complete = False
        self._start()

    def _start(self) -> None:
        self.status = 0
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        self.body: list[bytes] = []
        self.headers_done = False
        self.keep_alive = False

    def on_message_begin(self) -> None:
        if self.complete:
            self.trailing = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.complete:
            return
        key, text = name.decode("latin-1"), value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        if not self.complete:
            self.headers_done = True
            self.status = self.parser.get_status_code()
            self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if not self.complete:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.complete:
            return
        if self.status < 200:  # 100 Continue, 103 Early Hints: the answer is still to come
            self._start()
            return
        self.complete = True

    def at_close(self) -> Reply:
        # The server closed the connection before the answer's end: fine only for an answer
        # without a length, whose body runs until the close.
        if not self.headers_done:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        if (
            "content-length" in self.headers
            or "chunked" in self.headers.get("transfer-encoding", "").lower()
        ):
            raise http.client.IncompleteRead(b"".join(self.body))
        return Reply(self.status, self.headers, b"".join(self.body))


def _open_tunnel(sock: socket.socket, authority: str, headers: Mapping[str, str]) -> None:
    request = f"CONNECT {authority} HTTP/1.1\r\n" + _header_lines({"Host": authority, **headers})
    sock.sendall((request + "\r\n").encode("latin-1"))
    head = b""
    while b"\r\n\r\n" not in head:  # nothing follows the proxy's answer before our TLS hello
        data = sock.recv(MAX_HEAD_BYTES)
        if not data or len(head) + len(data) > MAX_HEAD_BYTES:
            raise ProtocolError("the proxy closed the tunnel request without an answer")
        head += data
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or parts[1] != "200":
        raise ProtocolError(f"the proxy refused the tunnel: {status_line[:200]}")


def _header_lines(headers: Mapping[str, str]) -> str:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if any(_NOT_A_TOKEN.search(name) for name in headers) or lines.count("\n") != len(headers):
        raise ValueError(f"invalid HTTP header among {sorted(headers)}")
    return lines


def _tls_context() -> ssl.SSLContext:
    ca_certs = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return ssl.create_default_context(cafile=ca_certs or certifi.where())


def _proxy_authorization(proxy: SplitResult | None) -> dict[str, str]:
    if proxy is None or proxy.username is None:
        return {}
    credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def _proxy_for(scheme: str, host: str) -> SplitResult | None:
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    url = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if url.scheme != "http" or not url.hostname:
        raise ValueError(f"the {scheme} proxy must be an http:// URL, got {url.scheme}://")
    return url
