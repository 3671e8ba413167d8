"""The SOAP client's HTTP/1.1 connections against servers that answer byte for byte as scripted."""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.ops.servers import pump, self_signed_certificate, tls_front
from worker.marketo.http import KeepAlivePool, ProtocolError, ReadTimeout

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 5\r\n\r\n<ok/>"


@dataclass
class Scripted:
    """A server answering the n-th request with the n-th raw answer (closing after it if told)."""

    answers: list[tuple[bytes, bool]]
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0


def _read_request(stream: socket.SocketIO, buffer: bytearray) -> bytes | None:
    while b"\r\n\r\n" not in buffer:
        data = stream.read(65536)
        if not data:
            return None
        buffer += data
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += stream.read(65536) or b""
    buffer[:] = rest[length:]
    return head + b"\r\n\r\n" + rest[:length]


@contextlib.contextmanager
def scripted(*answers: bytes | tuple[bytes, bool]) -> Iterator[Scripted]:
    state = Scripted([a if isinstance(a, tuple) else (a, False) for a in answers])
    listener = socket.create_server(("127.0.0.1", 0))
    state.port = listener.getsockname()[1]

    def serve(conn: socket.socket) -> None:
        buffer = bytearray()
        with conn, contextlib.suppress(OSError):
            stream = socket.SocketIO(conn, "rb")
            while (request := _read_request(stream, buffer)) is not None:
                state.requests.append(request)
                answer, close = state.answers.pop(0)
                conn.sendall(answer)
                if close:
                    return

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                state.connections += 1
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield state
    finally:
        listener.close()


_POOLS: list[KeepAlivePool] = []


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    while _POOLS:
        _POOLS.pop().clear()


def _pool(url: str, read_timeout_s: float = 2.0) -> KeepAlivePool:
    pool = KeepAlivePool(url, connect_timeout_s=2.0, read_timeout_s=read_timeout_s)
    _POOLS.append(pool)
    return pool


def _post(pool: KeepAlivePool, body: bytes = b"<hi/>") -> tuple[int, str | None, bytes]:
    reply = pool.post(body, {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    return reply.status_code, reply.headers.get("content-type"), reply.content


def test_a_request_is_sent_whole_and_its_answer_read_on_a_kept_connection() -> None:
    with scripted(OK, OK) as server:
        pool = _pool(f"http://127.0.0.1:{server.port}/soap/mktows/2_3")
        assert _post(pool, "<é/>".encode()) == (200, "text/xml", b"<ok/>")
        assert _post(pool) == (200, "text/xml", b"<ok/>")
    assert server.connections == 1
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /soap/mktows/2_3 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in lines
    assert "Content-Length: 5" in lines and 'SOAPAction: ""' in lines
    assert body == "<é/>".encode()


def test_a_chunked_answer_is_joined_and_the_connection_kept() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml\r\n\r\n"
        b"3\r\n<ok\r\n2;ext=1\r\n/>\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    with scripted(chunked, OK) as server:
        pool = _pool(f"http://127.0.0.1:{server.port}/")
        assert _post(pool) == (200, "text/xml", b"<ok/>")
        assert _post(pool)[2] == b"<ok/>"
    assert server.connections == 1


def test_an_answer_without_a_length_runs_until_the_close() -> None:
    until_close = b"HTTP/1.1 500 Oops\r\nContent-Type: text/html\r\n\r\n<html>down</html>"
    with scripted((until_close, True), OK) as server:
        pool = _pool(f"http://127.0.0.1:{server.port}/")
        assert _post(pool) == (500, "text/html", b"<html>down</html>")
        assert _post(pool)[0] == 200
    assert server.connections == 2


def test_interim_answers_are_skipped() -> None:
    with scripted(b"HTTP/1.1 100 Continue\r\n\r\n" + OK) as server:
        assert _post(_pool(f"http://127.0.0.1:{server.port}/")) == (200, "text/xml", b"<ok/>")


def test_connection_close_and_http_1_0_answers_are_not_reused() -> None:
    closing = OK.replace(b"Content-Length", b"Connection: close\r\nContent-Length")
    http10 = OK.replace(b"HTTP/1.1", b"HTTP/1.0")
    with scripted((closing, True), (http10, True), OK) as server:
        pool = _pool(f"http://127.0.0.1:{server.port}/")
        for _ in range(3):
            assert _post(pool)[0] == 200
    assert server.connections == 3


@pytest.mark.parametrize("extra", [b"HTTP/1.1 200 OK\r\n", b"\x00garbage"])
def test_bytes_after_the_answer_retire_the_connection(extra: bytes) -> None:
    with scripted(OK + extra, OK) as server:
        pool = _pool(f"http://127.0.0.1:{server.port}/")
        assert _post(pool)[2] == b"<ok/>"
        assert _post(pool)[2] == b"<ok/>"
    assert server.connections == 2


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"", http.client.RemoteDisconnected),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n<trunc", http.client.IncompleteRead),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<tr",
            http.client.IncompleteRead,
        ),
        (b"SMTP ready\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", ProtocolError),
    ],
)
def test_broken_answers_raise_http_errors(answer: bytes, error: type[Exception]) -> None:
    with scripted((answer, True), OK) as server:
        pool = _pool(f"http://127.0.0.1:{server.port}/")
        with pytest.raises(error):
            _post(pool)
        assert _post(pool)[0] == 200  # the broken connection was dropped
    assert server.connections == 2


def test_a_silent_server_hits_the_read_timeout() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        pool = _pool(f"http://127.0.0.1:{listener.getsockname()[1]}/", read_timeout_s=0.2)
        with pytest.raises(ReadTimeout, match=r"0\.2 s"):
            _post(pool)


def test_header_values_cannot_inject_lines() -> None:
    with scripted(OK) as server:
        pool = _pool(f"http://127.0.0.1:{server.port}/")
        with pytest.raises(ValueError, match="invalid HTTP header"):
            pool.post(b"<hi/>", {"SOAPAction": '""\r\nX-Evil: 1'})
    assert server.requests == []


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    try:
        cert, _ = self_signed_certificate(tmp_path)
    except FileNotFoundError:
        pytest.skip("openssl is needed to make a test certificate")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return cert


def test_https_is_verified_against_the_ca_bundle(certificate: Path) -> None:
    with scripted(OK, OK) as server, tls_front(server.port, certificate, _key(certificate)) as port:
        pool = _pool(f"https://localhost:{port}/soap")
        assert _post(pool) == (200, "text/xml", b"<ok/>")
        assert _post(pool)[2] == b"<ok/>"
    assert server.connections == 1
    assert f"Host: localhost:{port}".encode() in server.requests[0]


def test_https_with_an_untrusted_certificate_fails(
    certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # certifi's roots do not know the test CA
    with (
        scripted(OK) as server,
        tls_front(server.port, certificate, _key(certificate)) as port,
        pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        _post(_pool(f"https://localhost:{port}/soap"))


def _key(certificate: Path) -> Path:
    return certificate.with_name("key.pem")


@contextlib.contextmanager
def connect_proxy(refuse: bool = False) -> Iterator[tuple[int, list[bytes]]]:
    """An http proxy that opens CONNECT tunnels (or refuses them with 407); yields its port and
    the requests it got."""
    seen: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(65536)
        seen.append(head)
        if refuse:
            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            client.close()
            return
        port = head.split(b" ")[1].decode().rpartition(":")[2]
        upstream = socket.create_connection(("127.0.0.1", int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for pair in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=pair, daemon=True).start()

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        listener.close()


def test_https_goes_through_a_proxy_tunnel_with_its_credentials(
    certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        scripted(OK) as server,
        tls_front(server.port, certificate, _key(certificate)) as port,
        connect_proxy() as (proxy_port, seen),
    ):
        monkeypatch.setenv("https_proxy", f"http://ann:s%40fe@127.0.0.1:{proxy_port}")
        assert _post(_pool(f"https://localhost:{port}/soap")) == (200, "text/xml", b"<ok/>")
    [tunnel] = seen
    assert tunnel.startswith(f"CONNECT localhost:{port} HTTP/1.1\r\n".encode())
    credentials = base64.b64encode(b"ann:s@fe")
    assert b"Proxy-Authorization: Basic " + credentials in tunnel
    assert b"Proxy-Authorization" not in server.requests[0]  # never sent on to Marketo


def test_a_proxy_refusing_the_tunnel_is_a_protocol_error(
    certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with connect_proxy(refuse=True) as (proxy_port, _):
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy_port}")
        with pytest.raises(ProtocolError, match="407"):
            _post(_pool("https://marketo.example/soap"))
