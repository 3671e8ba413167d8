"""The REST transport's own knobs (`LEADSYNC_REST_*`), read once where the transport is built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from worker.config import ConfigError, read_environment

DEFAULT_TOKEN_MARGIN_S = 60.0  # renew the shared token this long before Marketo says it expires


@dataclass(frozen=True, slots=True)
class RestOptions:
    """How jobs map onto Sync Leads: the foreign-id field, partitions and field-name overrides."""

    fsp_field: str | None = None
    partitions: Mapping[str, str] = field(default_factory=dict)
    field_names: Mapping[str, str] = field(default_factory=dict)
    token_margin_s: float = DEFAULT_TOKEN_MARGIN_S

    def partition_for(self, workspace: str | None) -> str | None:
        """The partitionName for a job's workspace (None: leave it to Marketo)."""
        if workspace is None:
            return None
        for name, partition in self.partitions.items():
            if name.lower() == workspace.lower():
                return partition
        return None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env")
    ) -> RestOptions:
        """Read `LEADSYNC_REST_FSP_FIELD`, `_PARTITIONS`, `_FIELD_MAP`, `_TOKEN_MARGIN`."""
        values = read_environment(environ, env_file=env_file)
        margin = values.get("LEADSYNC_REST_TOKEN_MARGIN", "").strip()
        try:
            margin_s = float(margin) if margin else DEFAULT_TOKEN_MARGIN_S
        except ValueError:
            raise ConfigError(
                f"LEADSYNC_REST_TOKEN_MARGIN: expected seconds, got {margin!r}"
            ) from None
        return cls(
            fsp_field=values.get("LEADSYNC_REST_FSP_FIELD", "").strip() or None,
            partitions=_pairs(values, "LEADSYNC_REST_PARTITIONS"),
            field_names=_pairs(values, "LEADSYNC_REST_FIELD_MAP"),
            token_margin_s=margin_s,
        )


def _pairs(values: Mapping[str, str], name: str) -> dict[str, str]:
    """Parse `A=B,C=D` into a mapping; the error names the variable."""
    result: dict[str, str] = {}
    for item in values.get(name, "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{name}: expected NAME=VALUE[,NAME=VALUE...], got {item.strip()!r}")
        result[key.strip()] = value.strip()
    return result
