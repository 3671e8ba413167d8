"""The Marketo sandbox: a SOAP emulator of syncLead and syncMultipleLeads, with limits and faults.

SOAP endpoint `http://HOST:PORT/soap/mktows/2_3`, its WSDL at `?WSDL` (or `?wsdl`), addressed to
the URL it was fetched from. Faults are HTTP 500 SOAP 1.1 Faults carrying Marketo's code in
`detail/serviceException/code`.

Inspection API (JSON; not part of Marketo):
- `GET /_sandbox/leads[?email=E]`: every stored lead (id, email, foreign_sys_person_id,
  foreign_sys_type, cookies, anonymous, attributes, partition, workspace, created_at, updated_at).
- `POST /_sandbox/leads` `{email?, foreign_sys_person_id?, foreign_sys_type?, cookie?, partition?,
  attributes?}`: seed a lead directly, e.g. an anonymous one known only by its Munchkin cookie.
- `GET /_sandbox/calls[?since=SEQ]`: every call, oldest first: seq, received_at, completed_at (Unix
  seconds), operation, keys (one dict per record), lead_ids, statuses, outcome (CREATED, UPDATED,
  SYNCED for a batch, FAULT, HTTP_503, HTTP_502, RESET, HANG when the client gave up, CLIENT_GONE),
  fault_code, http_status (null when no response was sent), injected (the injected fault kind or
  null).
- `POST /_sandbox/reset`: no leads, no calls, fresh limit counters, the startup config and faults.
- `GET|POST /_sandbox/config`: read, or change at runtime, any of latency_ms, jitter_ms,
  fault_rate, fault_kinds, hang_s, timestamp_window_s, duplicate_race, rate_limit ("N/S", [N, S],
  "off" or null), max_concurrency and daily_quota (N, "off" or null), custom_fields, workspaces
  (["NAME=PRIMARY,..."] or null), assignment_rules (["FIELD=VALUE:PARTITION"]).
- `GET|POST|DELETE /_sandbox/faults`: scripted faults `{key, count, code}` (or `{"faults":
  [...]}`): the first `count` calls naming lead key `key` fail with `code`, a Marketo fault code or
  one of 503, 502, reset, hang; DELETE clears them.
- `GET /_sandbox/ping`: "pong", the trivial baseline of `bench/sandbox.py`.
- `POST /_sandbox/rest/tokens` `{"expire": true}` or `{"revoke": true}`: make the current REST token
  answer 602 (expired) or 601 (invalid), to test renewal.

REST face (Marketo's REST API over the same lead store, limits and faults): `GET|POST
/identity/oauth/token` (client credentials from --client-id/--client-secret), `POST|GET
/rest/v1/leads.json` (Sync Leads; read by filter), `GET /rest/v1/lead/{id}.json`, `POST
/rest/v1/leads/{id}/associate.json?cookie=...`; errors as HTTP 200 with `success: false`.
"""

from __future__ import annotations

from .app import build_app
from .cli import main
from .config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ENCRYPTION_KEY,
    DEFAULT_USER_ID,
    SandboxConfig,
)
from .server import RunningSandbox, start_in_thread

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_ENCRYPTION_KEY",
    "DEFAULT_USER_ID",
    "RunningSandbox",
    "SandboxConfig",
    "build_app",
    "main",
    "start_in_thread",
]
