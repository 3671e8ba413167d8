"""The Marketo REST client: a job becomes Sync Leads (createOrUpdate), plus Associate Lead.

One `RestClient` per worker process, with one `requests.Session` (keep-alive). The bearer token
comes from a `TokenSource` (shared through Redis in the workers) and is sent only in the
Authorization header; it and the client secret are scrubbed from every error message. The runner
books one rate-limit slot per job; `pace` books one more before each extra call (Associate Lead,
the lead read for `return_lead`). No Celery, no Redis here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import requests

from worker.config import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S
from worker.jobs import SyncLeadJob
from worker.marketo.errors import PermanentError, ResignError, TransientError
from worker.marketo.rest_auth import TokenSource
from worker.marketo.rest_errors import check_answer, code_of
from worker.marketo.rest_fields import rest_field_name
from worker.marketo.rest_options import RestOptions
from worker.marketo.result import SyncResult
from worker.marketo.transport_errors import translated_errors

_STATUSES = {"created": "CREATED", "updated": "UPDATED"}


class RestClient:
    """Calls Marketo's REST API at one endpoint with tokens from one source."""

    def __init__(
        self,
        *,
        endpoint: str,
        tokens: TokenSource,
        options: RestOptions | None = None,
        workspace: str | None = None,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        pace: Callable[[], object] = lambda: None,
        hidden: tuple[str, ...] = (),
    ) -> None:
        if urlparse(endpoint).scheme not in ("http", "https"):
            raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self.options = options or RestOptions()
        self.workspace = workspace
        self._tokens = tokens
        self._pace = pace
        self._hidden = hidden
        self._timeouts = (connect_timeout_s, read_timeout_s)
        self._session = requests.Session()

    def sync_lead(self, job: SyncLeadJob) -> SyncResult:
        """Upsert one lead; raises a `MarketoError` subclass on any failure of the call."""
        lookup_field, record = self._record(job)
        body: dict[str, Any] = {"action": "createOrUpdate", "lookupField": lookup_field}
        partition = self._partition(job)
        if partition is not None:
            body["partitionName"] = partition
        body["input"] = [record]
        answer = self._request("POST", "/v1/leads.json", json=body)
        results = answer.get("result")
        if not isinstance(results, list) or len(results) != 1 or not isinstance(results[0], dict):
            raise TransientError("Sync Leads answered without exactly one result")
        item = results[0]
        lead_id = item.get("id") if isinstance(item.get("id"), int) else None
        status = _STATUSES.get(str(item.get("status")))
        if status is None or lead_id is None:
            return SyncResult(lead_id=lead_id, status="FAILED", error=_reasons(item))
        if job.marketo_cookie is not None:
            self._pace()
            self._request(
                "POST", f"/v1/leads/{lead_id}/associate.json", params={"cookie": job.marketo_cookie}
            )
        record_back = self._read_lead(lead_id, job) if job.return_lead else None
        return SyncResult(lead_id=lead_id, status=status, lead_record=record_back)  # type: ignore[arg-type]

    def close(self) -> None:
        """Close the keep-alive connections."""
        self._session.close()

    def __repr__(self) -> str:
        return f"RestClient(endpoint={self.endpoint!r})"

    def _record(self, job: SyncLeadJob) -> tuple[str, dict[str, Any]]:
        """The lookupField matching the job's strongest key, and the input record."""
        names = self.options.field_names
        record: dict[str, Any] = {rest_field_name(k, names): v for k, v in job.attributes.items()}
        fsp_field = self.options.fsp_field
        if job.foreign_sys_person_id is not None:
            if fsp_field is None:
                raise PermanentError(
                    "foreign_sys_person_id needs LEADSYNC_REST_FSP_FIELD, the custom field "
                    "standing in for ForeignSysPersonId over REST"
                )
            record[fsp_field] = job.foreign_sys_person_id
        if job.email is not None:
            record["email"] = job.email
        if job.lead_id is not None:
            record["id"] = job.lead_id
            return "id", record
        if job.foreign_sys_person_id is not None and fsp_field is not None:
            return fsp_field, record
        return "email", record

    def _partition(self, job: SyncLeadJob) -> str | None:
        workspace = job.workspace or self.workspace
        partition = self.options.partition_for(workspace)
        if partition is None and workspace is not None and workspace.lower() != "default":
            raise PermanentError(
                f"workspace {workspace!r} has no partition in LEADSYNC_REST_PARTITIONS"
            )
        return partition

    def _read_lead(self, lead_id: int, job: SyncLeadJob) -> dict[str, Any] | None:
        """The lead as stored after the sync, for `return_lead`, keyed like the SOAP record."""
        names = {rest_field_name(k, self.options.field_names): k for k in job.attributes}
        fields = ["id", "email", *names]
        if self.options.fsp_field is not None:
            fields.append(self.options.fsp_field)
        self._pace()
        answer = self._request(
            "GET", f"/v1/lead/{lead_id}.json", params={"fields": ",".join(fields)}
        )
        found = answer.get("result") or []
        if not found or not isinstance(found[0], dict):
            return None
        lead = found[0]
        return {
            "Id": lead.get("id"),
            "Email": lead.get("email"),
            "ForeignSysPersonId": lead.get(self.options.fsp_field or "", None),
            "attributes": {soap: lead.get(rest) for rest, soap in names.items()},
        }

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        token = self._tokens.get()
        hidden = (token.reveal(), *self._hidden)
        headers = {"Authorization": f"Bearer {token.reveal()}"}
        with translated_errors(secrets=hidden):
            response = self._session.request(
                method, self.endpoint + path, headers=headers, timeout=self._timeouts, **kwargs
            )
            try:
                return check_answer(response, secrets=hidden)
            except ResignError:
                # 601/602: drop this token for every worker; the runner calls again at once.
                self._tokens.invalidate(token)
                raise


def _reasons(item: dict[str, Any]) -> str:
    """A skipped record's reasons as `code: message; ...`."""
    reasons = item.get("reasons") or []
    texts = [
        f"{code_of(r.get('code')) or r.get('code')}: {r.get('message')}"
        for r in reasons
        if isinstance(r, dict)
    ]
    return "; ".join(texts) or f"record {item.get('status') or 'not synced'}"
