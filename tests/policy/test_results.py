"""The status record: fields of `leadsync status --json`, transitions, TTL, size."""

from __future__ import annotations

import re

import redis

from worker.marketo.result import SyncResult
from worker.policy import keys
from worker.policy.results import Claim, ResultsStore, decode_status, error_info

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_a_new_record_is_queued_with_every_status_field(rds: redis.Redis) -> None:
    store = ResultsStore(rds, ttl_s=3600)
    store.create("j1")
    status = store.get("j1")
    assert status is not None
    assert set(status) == {
        "job_id",
        "state",
        "attempts",
        "lead_id",
        "sync_status",
        "error",
        "created_at",
        "updated_at",
    }
    assert status["state"] == "queued"
    assert status["attempts"] == 0
    assert status["lead_id"] is None and status["sync_status"] is None and status["error"] is None
    assert ISO_UTC.match(status["created_at"]) and ISO_UTC.match(status["updated_at"])


def test_an_unknown_id_has_no_status(rds: redis.Redis) -> None:
    assert ResultsStore(rds, ttl_s=60).get("nope") is None


def test_transitions_refresh_the_ttl_and_end_synced(rds: redis.Redis) -> None:
    store = ResultsStore(rds, ttl_s=1000)
    store.create("j1")
    rds.expire(keys.job("j1"), 10)
    assert store.claim("j1", 1, run_lease_s=5)[0] is Claim.RUN
    assert rds.ttl(keys.job("j1")) > 900
    store.mark_retrying("j1", attempts=1, next_attempt=2, error=error_info(10001, "boom"))
    assert store.get("j1")["state"] == "retrying"  # type: ignore[index]
    assert store.get("j1")["error"] == {"code": 10001, "message": "boom"}  # type: ignore[index]
    assert store.claim("j1", 2, run_lease_s=5)[0] is Claim.RUN
    store.mark_synced("j1", SyncResult(lead_id=42, status="UPDATED"))
    status = store.get("j1")
    assert status is not None
    assert status["state"] == "synced" and status["attempts"] == 2
    assert status["lead_id"] == 42 and status["sync_status"] == "UPDATED"
    assert status["error"] is None


def test_the_claim_admits_one_delivery_per_attempt(rds: redis.Redis) -> None:
    store = ResultsStore(rds, ttl_s=1000)
    store.create("j1")
    assert store.claim("j1", 2, run_lease_s=5)[0] is Claim.STALE
    assert store.claim("j1", 1, run_lease_s=5)[0] is Claim.RUN
    verdict, left_s = store.claim("j1", 1, run_lease_s=5)
    assert verdict is Claim.BUSY and 0 < left_s <= 5
    store.mark_dead("j1", error_info(20013, "Access denied"))
    assert store.claim("j1", 1, run_lease_s=5)[0] is Claim.DONE
    assert store.claim("other", 1, run_lease_s=5)[0] is Claim.MISSING


def test_an_expired_run_lease_is_taken_over(rds: redis.Redis) -> None:
    store = ResultsStore(rds, ttl_s=1000)
    store.create("j1")
    assert store.claim("j1", 1, run_lease_s=0.001)[0] is Claim.RUN
    rds.hset(keys.job("j1"), "r", 0)  # the worker died long ago
    assert store.claim("j1", 1, run_lease_s=5)[0] is Claim.TAKEOVER


def test_updates_never_resurrect_an_expired_record(rds: redis.Redis) -> None:
    store = ResultsStore(rds, ttl_s=1000)
    store.mark_synced("gone", SyncResult(lead_id=1, status="CREATED"))
    assert store.get("gone") is None


def test_a_finished_record_uses_at_most_600_bytes(rds: redis.Redis) -> None:
    store = ResultsStore(rds, ttl_s=7 * 24 * 3600)
    job_id = "0123456789abcdef0123456789abcdef"
    store.create(job_id)
    store.claim(job_id, 1, run_lease_s=100)
    store.mark_retrying(job_id, attempts=1, next_attempt=2, error=error_info(10001, "x" * 500))
    store.claim(job_id, 2, run_lease_s=100)
    store.mark_dead(job_id, error_info(20106, "Lead sync failed " * 20))
    assert int(rds.memory_usage(keys.job(job_id)) or 0) <= 600
    assert rds.object("encoding", keys.job(job_id)) == "listpack"
    assert store.get(job_id)["error"]["message"].startswith("Lead sync failed")  # type: ignore[index]
    synced = "fedcba9876543210fedcba9876543210"
    store.create(synced)
    store.claim(synced, 1, run_lease_s=100)
    store.mark_synced(synced, SyncResult(lead_id=2_147_483_647, status="CREATED"))
    assert int(rds.memory_usage(keys.job(synced)) or 0) <= 600


def test_the_status_decodes_from_a_raw_reply_as_from_a_decoded_one(rds: redis.Redis) -> None:
    store = ResultsStore(rds, ttl_s=3600)
    store.create("j1")
    decoded = rds.hgetall(keys.job("j1"))
    raw = {k.encode(): v.encode() for k, v in decoded.items()}
    assert decode_status("j1", raw) == decode_status("j1", decoded) == store.get("j1")
    assert decode_status("j1", {}) is None
