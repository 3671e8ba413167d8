"""A throwaway Marketo-shaped HTTP server: records raw requests, answers with canned replies."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

SOAP_PATH = "/soap/mktows/2_3"
USER_ID = "demo17_1_809934544BFABAE58E5D27"  # FACTS §2's documented test credentials
KEY = "27272727aa"
REAL_WSDL = Path(__file__).resolve().parents[3] / "shared" / "marketo" / "mktows-2_3.wsdl"
_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:ns1="http://www.marketo.com/mktows/">'
    "<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
)


@dataclass(frozen=True)
class Reply:
    """One canned answer; `reset` closes the socket with RST instead of answering, `then_close`
    answers and then closes it, unannounced, as a server whose keep-alive timeout ran out."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/xml;charset=UTF-8"
    delay_s: float = 0.0
    reset: bool = False
    then_close: bool = False


@dataclass(frozen=True)
class Recorded:
    """One request exactly as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


def sync_lead_reply(
    lead_id: int = 1089965, status: str = "UPDATED", lead_record: str | None = None
) -> Reply:
    """The seed document's successSyncLead, optionally with a returned lead record."""
    record = '<leadRecord xsi:nil="true" />' if lead_record is None else lead_record
    body = (
        f"<ns1:successSyncLead><result><leadId>{lead_id}</leadId>"
        f"<syncStatus><leadId>{lead_id}</leadId><status>{status}</status>"
        f'<error xsi:nil="true" /></syncStatus>{record}</result></ns1:successSyncLead>'
    )
    return Reply(body=_ENVELOPE.format(body=body).encode())


def lead_record_xml(lead_id: int, email: str, attributes: dict[str, str]) -> str:
    """A full LeadRecord element as Marketo returns it when returnLead is true."""
    items = "".join(
        f"<attribute><attrName>{escape(n)}</attrName><attrType>string</attrType>"
        f"<attrValue>{escape(v)}</attrValue></attribute>"
        for n, v in attributes.items()
    )
    return (
        f"<leadRecord><Id>{lead_id}</Id><Email>{escape(email)}</Email>"
        f'<ForeignSysPersonId xsi:nil="true"/><ForeignSysType xsi:nil="true"/>'
        f"<leadAttributeList>{items}</leadAttributeList></leadRecord>"
    )


def sync_multiple_reply(statuses: list[tuple[int, str, str | None]]) -> Reply:
    """A successSyncMultipleLeads with one syncStatus per (leadId, status, error)."""
    items = "".join(
        f"<syncStatus><leadId>{lead_id}</leadId><status>{status}</status>"
        + ('<error xsi:nil="true"/>' if error is None else f"<error>{escape(error)}</error>")
        + "</syncStatus>"
        for lead_id, status, error in statuses
    )
    body = (
        "<ns1:successSyncMultipleLeads><result><syncStatusList>"
        f"{items}</syncStatusList></result></ns1:successSyncMultipleLeads>"
    )
    return Reply(body=_ENVELOPE.format(body=body).encode())


def fault_reply(code: int, text: str, *, prefix: str = "ns1", detail: bool = True) -> Reply:
    """A Marketo fault as in FACTS §5: HTTP 500, code in detail/serviceException and faultstring."""
    service_exception = (
        f'<detail><{prefix}:serviceException xmlns:{prefix}="http://www.marketo.com/mktows/">'
        f"<name>mktServiceException</name><message>{text} ({code})</message>"
        f"<code>{code}</code></{prefix}:serviceException></detail>"
    )
    body = (
        "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode>"
        f"<faultstring>{code} - {text}</faultstring>"
        f"{service_exception if detail else ''}</SOAP-ENV:Fault>"
    )
    return Reply(status=500, body=_ENVELOPE.format(body=body).encode())


@dataclass
class FakeMarketo:
    """Queued replies (default: a syncLead success) and every request recorded."""

    replies: deque[Reply] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}{SOAP_PATH}"

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def next_reply(self) -> Reply:
        return self.replies.popleft() if self.replies else sync_lead_reply()


def _handler(state: FakeMarketo) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection reuse is visible
        timeout = 5  # idle keep-alive connections end on their own

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            state.requests.append(
                Recorded(self.path, dict(self.headers), body, self.client_address[1])
            )
            reply = state.next_reply()
            if reply.reset:
                # SO_LINGER 0: close() sends RST, the way a dropped connection looks to a client.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return
            time.sleep(reply.delay_s)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.close_connection = reply.then_close

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that time out or vanish are part of the tests, not failures


def start(state: FakeMarketo) -> _Server:
    """Serve `state` on a free 127.0.0.1 port in a daemon thread."""
    server = _Server(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server
