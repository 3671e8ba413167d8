"""Turning parsed JSON or form values into checked jobs, through the one job model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.intake.body import DuplicateKeys
from worker.intake.errors import ClientError
from worker.intake.settings import MAX_BATCH_JOBS
from worker.jobs import InvalidJob, SyncLeadJob, validate_job


def single_job(value: Any, *, path: str = "") -> SyncLeadJob:
    """The job once the job model accepted it; errors name `path` + the field."""
    return checked(_job_mapping(value, path), path=path)


def batch_jobs(body: Any) -> list[SyncLeadJob]:
    """Every job of a `{"jobs": [...]}` batch, all checked before any is enqueued."""
    if isinstance(body, DuplicateKeys):
        raise _invalid([(body.duplicate(), "is given more than once")])
    extra = sorted(set(body) - {"jobs"})
    if extra:
        raise _invalid([(extra[0], "is not allowed beside jobs")])
    jobs = body["jobs"]
    if not isinstance(jobs, list) or not 1 <= len(jobs) <= MAX_BATCH_JOBS:
        raise _invalid([("jobs", f"must be a list of 1 to {MAX_BATCH_JOBS} jobs")])
    errors: list[tuple[str, str]] = []
    checked_jobs: list[SyncLeadJob] = []
    for index, item in enumerate(jobs):
        try:
            checked_jobs.append(single_job(item, path=f"jobs.{index}."))
        except ClientError as error:
            errors += error.errors
    if errors:
        raise _invalid(errors)
    return checked_jobs


def is_batch(body: Any) -> bool:
    """True for a `{"jobs": ...}` body (one job has no field named jobs)."""
    if isinstance(body, DuplicateKeys):
        return any(key == "jobs" for key, _ in body)
    return isinstance(body, dict) and "jobs" in body


def checked(fields: dict[str, Any], *, path: str = "") -> SyncLeadJob:
    """Validate a field mapping once; the job goes to the producer as is, and its JSON-safe
    `to_message()` form is what idempotency fingerprints digest."""
    try:
        return validate_job(fields)
    except InvalidJob as error:
        raise _invalid([(path + field, rule) for field, rule in error.errors]) from None
    except TypeError:
        # e.g. an attribute pair whose name is itself a list: refused, never a server error.
        raise _invalid([(path + "attributes", "names and values must be strings")]) from None


def _job_mapping(value: Any, path: str) -> dict[str, Any]:
    where = path.rstrip(".") or "body"
    if isinstance(value, DuplicateKeys):
        raise _invalid([(path + value.duplicate(), "is given more than once")])
    if not isinstance(value, dict):
        raise _invalid([(where, "must be a JSON object with the job's fields")])
    fields = dict(value)
    attributes = fields.get("attributes")
    if isinstance(attributes, DuplicateKeys):
        # As pairs, the job model reports the repeated attribute name itself.
        fields["attributes"] = [list(pair) for pair in attributes]
    return fields


def _invalid(errors: Sequence[tuple[str, str]]) -> ClientError:
    return ClientError(422, "the job is invalid; nothing was enqueued", errors)
