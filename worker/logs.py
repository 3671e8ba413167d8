"""Logging: one structlog pipeline for leadsync, Celery and the standard library.

JSON lines when stdout is not a terminal, coloured console lines when it is. Two processors guard
what leaves the process: `mask_emails` (unless LEADSYNC_LOG_PII=1) and the `SecretRedactor`, which
removes secret-named fields and any known secret value wherever it appears. Standard-library
records (Celery's) reach those processors through the root handler's formatter; leadsync's own
events run them directly and are written by `LineWriter` to the same stream, under the same lock.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
_SECRET_FIELD = re.compile(
    r"(secret|password|passwd|token|api_?key|encryption_?key|signature|authorization)", re.I
)
# The usual local-part characters; "=" is left out so that "email=ann@x.com" keeps its field name.
_EMAIL_IN_TEXT = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+'-]*@(?=[A-Za-z0-9-]+\.)")


def mask_email(text: str) -> str:
    """`ann@example.com` → `a***@example.com`: enough to tell leads apart, not to contact them."""
    if "@" not in text:  # most values: skip the regular expression
        return text
    return _EMAIL_IN_TEXT.sub(lambda match: f"{match.group(1)}***@", text)


def _walk(value: Any, transform: Any) -> Any:
    if isinstance(value, str):
        return transform(value)
    if isinstance(value, dict):
        return {key: _walk(item, transform) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(item, transform) for item in value]
    return value


def mask_emails(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Mask every email address in the event, nested values included."""
    for key, value in event_dict.items():
        event_dict[key] = _walk(value, mask_email)
    return event_dict


class SecretRedactor:
    """Drop secret-named fields and scrub known secret values from every string."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        self._values = sorted({value for value in secret_values if len(value) >= 4}, key=len)[::-1]

    def scrub(self, text: str) -> str:
        """The text with every known secret value replaced."""
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        for key, value in list(event_dict.items()):
            if _secret_field(key):
                event_dict[key] = REDACTED
            else:
                event_dict[key] = self._scrub_nested(value)
        return event_dict

    def _scrub_nested(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: REDACTED if _secret_field(str(key)) else self._scrub_nested(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._scrub_nested(item) for item in value]
        if isinstance(value, str):
            return self.scrub(value)
        return value


@functools.lru_cache(maxsize=1024)
def _secret_field(name: str) -> bool:
    # Field names repeat from line to line (job_id, attempt, lead, ...): match each once.
    return bool(_SECRET_FIELD.search(name))


class LineWriter:
    """structlog's final logger: one rendered line per event, written and flushed at once."""

    def __init__(self, stream: TextIO, lock: Any, name: str = "leadsync", *_: Any) -> None:
        self.name = name  # for `add_logger_name`
        self._stream = stream
        self._lock = lock

    def msg(self, line: str) -> None:
        """Write one line."""
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    debug = info = warning = error = critical = exception = fatal = msg


def configure_logging(
    *,
    secrets: Iterable[str] = (),
    log_pii: bool = False,
    stream: TextIO | None = None,
    level: int = logging.INFO,
    json: bool | None = None,
) -> None:
    """Configure structlog and route the standard library (and so Celery) through it."""
    stream = stream or sys.stdout
    use_json = (not stream.isatty()) if json is None else json
    redactor = SecretRedactor(secrets)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks become text first, so masking and redaction also cover exception messages.
        structlog.processors.format_exc_info,
    ]
    if not log_pii:
        shared.append(mask_emails)
    shared.append(redactor)
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=True)
    )

    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    # leadsync's own lines run the same processors and renderer, then go straight to the stream
    # (under the handler's lock): a detour through the standard library's records and handler
    # would double their cost.
    structlog.configure(
        processors=[*shared, renderer],
        logger_factory=functools.partial(LineWriter, stream, handler.lock),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Chatty dependencies: their DEBUG output would carry raw SOAP bodies.
    for name in ("zeep", "urllib3", "httpx", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Celery's per-task "received" and "succeeded" lines repeat leadsync's own per-attempt line
    # (the first is logged before any job context exists); their warnings and errors still pass.
    for name in ("celery.worker.strategy", "celery.app.trace"):
        logging.getLogger(name).setLevel(logging.WARNING)


def describe_error(error: BaseException) -> str:
    """`ConnectionError: Error 111 connecting to ...`: redis-py 8's own repr drops the message."""
    return f"{type(error).__name__}: {error}"


def lead_summary(keys: Mapping[str, str]) -> str:
    """One short string naming the lead; `mask_emails` masks it like every other field."""
    return ",".join(f"{name}={value}" for name, value in keys.items())
