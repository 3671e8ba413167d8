"""The log pipeline: JSON lines, masked emails, no secrets, stdlib records included."""

from __future__ import annotations

import io
import json
import logging

import structlog

from worker.logs import configure_logging, mask_email


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_mask_email_keeps_the_first_letter_and_the_domain() -> None:
    assert mask_email("lead email=ann@example.com") == "lead email=a***@example.com"


def test_structlog_and_stdlib_records_are_json_with_masked_emails_and_no_secrets() -> None:
    stream = io.StringIO()
    configure_logging(secrets=["s3cr3t-key-value"], stream=stream, json=True)
    log = structlog.get_logger("test")
    with structlog.contextvars.bound_contextvars(job_id="j1", attempt=2):
        log.info("synced", email="ann@example.com", encryption_key="s3cr3t-key-value")
    logging.getLogger("celery.worker").warning("saw s3cr3t-key-value for bob@example.org")
    try:
        raise RuntimeError("auth with s3cr3t-key-value failed")
    except RuntimeError:
        log.exception("crashed")
    structlog.contextvars.clear_contextvars()
    first, second, third = lines(stream)
    assert first["job_id"] == "j1" and first["attempt"] == 2
    assert first["email"] == "a***@example.com"
    assert first["encryption_key"] == "[redacted]"
    assert second["event"] == "saw [redacted] for b***@example.org"
    assert "s3cr3t" not in stream.getvalue()
    assert "RuntimeError" in str(third["exception"])


def test_pii_logging_can_be_switched_on() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream, json=True, log_pii=True)
    structlog.get_logger("test").info("synced", email="ann@example.com")
    assert lines(stream)[0]["email"] == "ann@example.com"
