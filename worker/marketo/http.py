"""The HTTP under the SOAP client: urllib3 keep-alive connections with connect and read timeouts.

zeep posts through a `Transport`; leadsync's sends each envelope with urllib3 directly instead of
requests, which does per-request work (environment lookups, hooks, cookie jars) that a worker
calling one endpoint thousands of times does not need. Proxy and CA settings are read from the
environment once, as requests would read them.
"""

from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import certifi
import urllib3
from zeep.transports import Transport


@dataclass(frozen=True, slots=True)
class Reply:
    """The parts of an HTTP response zeep reads."""

    status_code: int
    headers: Any
    content: bytes
    encoding: str | None = None


def connection_pool(endpoint: str) -> urllib3.PoolManager:
    """Keep-alive connections to `endpoint`, through the environment's proxy when it names one."""
    ca_certs = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    options: dict[str, Any] = {"ca_certs": ca_certs or certifi.where(), "maxsize": 4}
    url = urlparse(endpoint)
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and not urllib.request.proxy_bypass(url.hostname or ""):
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


class PoolTransport(Transport):
    """A zeep transport that posts envelopes on a urllib3 pool with separate timeouts."""

    def __init__(
        self, pool: urllib3.PoolManager, *, connect_timeout_s: float, read_timeout_s: float
    ) -> None:
        super().__init__()
        self.pool = pool
        self.timeout = urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s)

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Reply:
        """POST one envelope; transport failures raise urllib3 errors (no retries here)."""
        response = self.pool.request(
            "POST", address, body=message, headers=headers, timeout=self.timeout, retries=False
        )
        return Reply(response.status, response.headers, response.data)
