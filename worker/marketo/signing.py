"""Marketo's SOAP AuthenticationHeader: a local timestamp with its offset, signed with HMAC-SHA1.

The exact timestamp string that was signed is the one sent, so both are made together, and a fresh
pair is made for every send: Marketo refuses stale signatures with fault 20016.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta


def request_timestamp(now: datetime | None = None) -> str:
    """`YYYY-MM-DDTHH:MM:SS±HH:MM` in local time, the W3C form Marketo signs and checks."""
    moment = datetime.now().astimezone() if now is None else now
    if moment.tzinfo is None:
        # A naive time is local wall-clock time; astimezone() attaches the offset in force at that
        # instant (DST included). `dst() or utcoffset()` would be wrong, see FACTS §2.
        moment = moment.astimezone()
    offset = moment.utcoffset() or timedelta(0)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + _format_offset(offset)


def _format_offset(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def sign(timestamp: str, user_id: str, key: str) -> str:
    """Lowercase hex HMAC-SHA1(key, timestamp + user id): the signature Marketo recomputes."""
    message = (timestamp + user_id).encode("utf-8")
    return hmac.new(key.encode("utf-8"), message, hashlib.sha1).hexdigest()


def authentication_header(user_id: str, key: str, now: datetime | None = None) -> dict[str, str]:
    """A freshly signed AuthenticationHeader's fields; never reuse one across sends or retries."""
    timestamp = request_timestamp(now)
    return {
        "mktowsUserId": user_id,
        "requestSignature": sign(timestamp, user_id, key),
        "requestTimestamp": timestamp,
    }
