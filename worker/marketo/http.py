"""The HTTP under the SOAP client: keep-alive `http.client` connections with separate timeouts.

zeep posts through a `Transport`; leadsync's sends each envelope on a connection of the standard
library's `http.client` that it keeps alive itself. urllib3 and requests, which zeep would use,
cost about as much CPU per call as zeep's serialization (URL parsing, pool lookups, header
containers, response wrappers), which a worker calling one endpoint thousands of times does not
need. A connection the server closed while it idled is noticed before reuse and replaced. Proxy
and CA settings are read from the environment once, as requests would read them: an https
endpoint is reached through an http proxy's CONNECT tunnel, an http one by absolute URL.
"""

from __future__ import annotations

import base64
import http.client
import os
import select
import ssl
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

import certifi
from zeep.transports import Transport

MAX_IDLE_CONNECTIONS = 4  # one per thread of a `--pool threads` worker sharing the client


class ConnectTimeout(TimeoutError):
    """The endpoint did not accept the connection within the connect timeout."""


class ReadTimeout(TimeoutError):
    """The request was sent but no complete answer came within the read timeout."""


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
        self._host, self._port = url.hostname, url.port
        self._tls = _tls_context() if url.scheme == "https" else None
        self._target = url.path + (f"?{url.query}" if url.query else "") or "/"
        self._proxy = _proxy_for(url.scheme, url.hostname)
        self._proxy_headers = _proxy_authorization(self._proxy)
        if self._proxy is not None and self._tls is None:
            self._target = endpoint  # plain HTTP through a proxy: the request line names the URL
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def post(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        """POST `body`; raises `ConnectTimeout`, `ReadTimeout`, `OSError` or `HTTPException`."""
        connection = self._checkout()
        try:
            if connection.sock is None:
                self._connect(connection)
            if self._tls is None and self._proxy_headers:
                headers = {**self._proxy_headers, **headers}
            connection.request("POST", self._target, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        except TimeoutError as error:
            connection.close()
            if isinstance(error, ConnectTimeout):
                raise
            raise ReadTimeout(f"no answer within {self.read_timeout_s} s") from None
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._checkin(connection)
        return Reply(response.status, response.headers, content)

    def clear(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _checkout(self) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._new_connection()
            if not _closed_by_peer(connection):
                return connection
            connection.close()

    def _checkin(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def _new_connection(self) -> http.client.HTTPConnection:
        host, port = self._host, self._port
        if self._proxy is not None:
            host, port = str(self._proxy.hostname), self._proxy.port or 80
        if self._tls is None:
            return http.client.HTTPConnection(host, port, timeout=self.connect_timeout_s)
        connection = http.client.HTTPSConnection(
            host, port, timeout=self.connect_timeout_s, context=self._tls
        )
        if self._proxy is not None:
            connection.set_tunnel(self._host, self._port, headers=self._proxy_headers)
        return connection

    def _connect(self, connection: http.client.HTTPConnection) -> None:
        # The connect timeout covers TCP, the proxy tunnel and the TLS handshake; then the read
        # timeout takes over for the request and its answer.
        try:
            connection.connect()
        except TimeoutError:
            raise ConnectTimeout(f"no connection within {self.connect_timeout_s} s") from None
        assert connection.sock is not None
        connection.sock.settimeout(self.read_timeout_s)


class PoolTransport(Transport):
    """A zeep transport that posts envelopes on a `KeepAlivePool`."""

    def __init__(self, pool: KeepAlivePool) -> None:
        super().__init__()
        self.pool = pool

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Reply:
        """POST one envelope to the pool's endpoint (zeep's `address` is that same endpoint)."""
        return self.pool.post(message, headers)


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    # An idle keep-alive socket has nothing to read; readable means the server closed it (or
    # sent something unasked for): either way it cannot carry a request.
    if connection.sock is None:
        return True
    poller = select.poll()
    poller.register(connection.sock, select.POLLIN)
    return bool(poller.poll(0))


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
