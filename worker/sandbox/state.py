"""Everything one running sandbox holds: config, leads, limits, faults and the call log."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lxml import etree

from .calls import CallLog
from .config import SandboxConfig
from .faults import FaultInjector
from .fields import STANDARD_FIELDS
from .limits import Limits
from .soap_wire import make_parser
from .store import LeadStore
from .upsert import Upserter
from .workspaces import Workspaces


class SandboxState:
    """The mutable state behind one app; touched only from its event loop."""

    def __init__(self, config: SandboxConfig) -> None:
        self.initial = config
        self.store = LeadStore(config.first_lead_id)
        self.limits = Limits()
        self.faults = FaultInjector()
        self.calls = CallLog(config.call_log_size)
        self._parser: etree.XMLParser | None = None
        self.configure(config)
        self.faults.load(config.scripted_faults)

    @property
    def parser(self) -> etree.XMLParser:
        """The XML parser, made in the thread that uses it (lxml parsers are not shared)."""
        if self._parser is None:
            self._parser = make_parser()
        return self._parser

    def configure(self, config: SandboxConfig) -> None:
        """Switch to `config`; leads, counters and the call log are kept."""
        self.workspaces = Workspaces(config.workspaces, config.assignment_rules)
        self.upserter = Upserter(
            self.store, self.workspaces, STANDARD_FIELDS | config.custom_fields
        )
        self.config = config

    def update(self, **changes: Any) -> SandboxConfig:
        """Apply runtime changes to the config (validated as a whole) and return the result."""
        self.configure(replace(self.config, **changes))
        return self.config

    def reset(self) -> None:
        """Back to how the sandbox started: no leads, no calls, fresh limits, the initial config."""
        self.store.clear()
        self.limits.reset()
        self.calls.clear()
        self.configure(self.initial)
        self.faults.load(self.initial.scripted_faults)
