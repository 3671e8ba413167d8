"""Reading request bodies safely: a size cap while streaming, content types, strict JSON."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from worker.intake.errors import ClientError


class DuplicateKeys(list[tuple[str, Any]]):
    """A JSON object that named a key twice, kept as its pairs so the field can be reported."""

    def duplicate(self) -> str:
        """The first key given more than once."""
        seen: set[str] = set()
        for key, _ in self:
            if key in seen:
                return key
            seen.add(key)
        return ""


def media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, *, limit_bytes: int) -> bytes:
    """The whole body, refusing with 413 as soon as it passes `limit_bytes`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit_bytes:
        raise _too_large(limit_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit_bytes:
            raise _too_large(limit_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """Strict UTF-8 JSON without NaN or Infinity; an object with a repeated key: `DuplicateKeys`."""
    try:
        return json.loads(body.decode("utf-8"), object_pairs_hook=_pairs, parse_constant=_refuse)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ClientError(
            400, f"malformed JSON: {_short(error)}", [("body", "must be JSON")]
        ) from None


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any] | DuplicateKeys:
    result = dict(pairs)
    return result if len(result) == len(pairs) else DuplicateKeys(pairs)


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _short(error: Exception) -> str:
    return str(error)[:200] or type(error).__name__


def _too_large(limit_bytes: int) -> ClientError:
    return ClientError(413, f"request body is over {limit_bytes} bytes", [("body", "too large")])
