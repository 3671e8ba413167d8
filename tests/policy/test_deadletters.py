"""Dead letters: list, show, replay with lineage, purge, retention and the count cap."""

from __future__ import annotations

import dataclasses
import time

import redis

from worker.config import Settings
from worker.jobs import validate_job
from worker.policy import keys
from worker.policy.deadletters import DeadLetters
from worker.policy.message import JobMessage
from worker.policy.results import error_info
from worker.policy.submit import enqueue

from .delivery import recording


def bury(store: DeadLetters, job_id: str, *, lineage: tuple[str, ...] = ()) -> None:
    store.note_error(job_id, error_info(10001, "first"))
    message = JobMessage(job_id=job_id, job={"email": f"{job_id}@example.com"}, lineage=lineage)
    store.add(
        message,
        reason="retries exhausted",
        attempts=2,
        errors=[*store.errors(job_id), {**error_info(20011, "second"), "at": time.time()}],
    )


def test_a_dead_letter_keeps_the_job_and_every_attempt(
    rds: redis.Redis, settings: Settings
) -> None:
    store = DeadLetters(rds, settings)
    bury(store, "j1")
    letter = store.show("j1")
    assert letter is not None
    assert letter["job"] == {"email": "j1@example.com"}
    assert letter["reason"] == "retries exhausted" and letter["attempts"] == 2
    assert [(e["code"], e["message"]) for e in letter["errors"]] == [
        (10001, "first"),
        (20011, "second"),
    ]
    assert letter["first_at"] <= letter["last_at"] <= letter["dead_at"]
    assert rds.exists(keys.errors("j1")) == 0
    assert 0 < rds.ttl(keys.dead("j1")) <= settings.dead_ttl_s
    assert store.show("unknown") is None


def test_list_is_newest_first(rds: redis.Redis, settings: Settings) -> None:
    store = DeadLetters(rds, settings)
    for job_id in ("a", "b", "c"):
        bury(store, job_id)
        time.sleep(0.002)
    assert [letter["job_id"] for letter in store.list()] == ["c", "b", "a"]


def test_replay_enqueues_a_new_job_with_the_lineage(rds: redis.Redis, settings: Settings) -> None:
    store = DeadLetters(rds, settings)
    bury(store, "old", lineage=("older",))
    published: list[JobMessage] = []
    new_id = store.replay("old", recording(published.append))
    assert new_id is not None and new_id != "old"
    assert [m.job_id for m in published] == [new_id]
    assert published[0].lineage == ("older", "old")
    assert published[0].job == {"email": "old@example.com"} and published[0].attempt == 1
    assert rds.hget(keys.job(new_id), "s") == "queued"
    assert store.show("old")["replayed_as"] == [new_id]  # type: ignore[index]
    assert store.replay("unknown", recording(published.append)) is None


def test_replay_all_skips_letters_already_replayed(rds: redis.Redis, settings: Settings) -> None:
    store = DeadLetters(rds, settings)
    bury(store, "a")
    bury(store, "b")
    published: list[JobMessage] = []
    store.replay("a", recording(published.append))
    assert set(store.replay_all(recording(published.append))) == {"b"}
    assert len(published) == 2


def test_purge_removes_dead_letters_and_never_live_jobs(
    rds: redis.Redis, settings: Settings
) -> None:
    store = DeadLetters(rds, settings)
    live = enqueue(rds, settings, validate_job(email="live@example.com"), recording(lambda _: None))
    for job_id in ("a", "b", "c"):
        bury(store, job_id)
    assert store.purge(["a", live]) == 1
    assert [letter["job_id"] for letter in store.list()] == ["c", "b"]
    assert store.purge_all() == 2
    assert store.list() == [] and store.purge_all() == 0
    assert rds.hget(keys.job(live), "s") == "queued"
    assert rds.zscore(keys.lead_queue("email", "live@example.com"), live) is not None


def test_the_oldest_letters_are_evicted_beyond_the_cap(
    rds: redis.Redis, settings: Settings
) -> None:
    store = DeadLetters(rds, dataclasses.replace(settings, dead_max_count=3))
    for job_id in ("a", "b", "c", "d", "e"):
        bury(store, job_id)
        time.sleep(0.002)
    assert [letter["job_id"] for letter in store.list()] == ["e", "d", "c"]
    assert rds.exists(keys.dead("a"), keys.dead("b")) == 0


def test_letters_expire_after_the_retention(rds: redis.Redis, settings: Settings) -> None:
    store = DeadLetters(rds, dataclasses.replace(settings, dead_ttl_s=1))
    bury(store, "a")
    assert len(store.list()) == 1
    time.sleep(1.1)
    assert store.list() == [] and rds.zcard(keys.DEAD_INDEX) == 0
