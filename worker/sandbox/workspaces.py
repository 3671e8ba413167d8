"""Workspaces, partitions, assignment rules: where new leads land, which leads a call may touch."""

from __future__ import annotations

from collections.abc import Mapping

from .config import DEFAULT_WORKSPACE, AssignmentRule, Workspace
from .errors import ApiError


class Workspaces:
    """Marketo's partitioning; disabled means one "Default" workspace and partition."""

    def __init__(
        self, workspaces: tuple[Workspace, ...] | None, rules: tuple[AssignmentRule, ...]
    ) -> None:
        self.enabled = workspaces is not None
        default = Workspace(DEFAULT_WORKSPACE, DEFAULT_WORKSPACE, (DEFAULT_WORKSPACE,))
        self._by_name = {default.name.lower(): default}
        self._by_name.update({w.name.lower(): w for w in workspaces or ()})
        self._home: dict[str, str] = {}
        for workspace in self._by_name.values():
            for partition in (workspace.primary_partition, *workspace.partitions):
                self._home.setdefault(partition, workspace.name)
        unknown = [r.partition for r in rules if r.partition not in self._home]
        if unknown:
            raise ValueError(f"assignment rules name unknown partitions: {unknown}")
        self._rules = rules if self.enabled else ()

    @property
    def default(self) -> Workspace:
        """The "Default" workspace, where unrouted new leads go."""
        return self._by_name[DEFAULT_WORKSPACE.lower()]

    def target(self, header: str | None) -> Workspace | None:
        """The workspace a context header names (None without header); a bad name is 20110."""
        if header is None:
            return None
        workspace = self._by_name.get(header.strip().lower())
        if workspace is None or (not self.enabled and workspace is not self.default):
            reason = "is unknown" if self.enabled else "must be Default: workspaces are disabled"
            raise ApiError(20110, f"targetWorkspace {header!r} {reason}")
        return workspace if self.enabled else None

    def partition_for_new(self, fields: Mapping[str, str], target: Workspace | None) -> str:
        """First matching assignment rule's partition, else the target's (or Default's) primary."""
        for rule in self._rules:
            value = fields.get(rule.field)
            if value is not None and value.lower() == rule.value.lower():
                return rule.partition
        return (target or self.default).primary_partition

    def workspace_of(self, partition: str) -> str:
        """The workspace a partition belongs to (the first that lists it)."""
        return self._home.get(partition, DEFAULT_WORKSPACE)

    def known_partition(self, partition: str) -> bool:
        """Whether some workspace lists this partition."""
        return partition in self._home
