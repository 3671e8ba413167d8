"""Which Marketo API the workers call: the one place that turns settings into a `call` function."""

from __future__ import annotations

from collections.abc import Callable

import redis

from worker.config import Settings
from worker.jobs import SyncLeadJob
from worker.marketo import SoapClient, SyncResult

SyncCall = Callable[[SyncLeadJob], SyncResult]


def build_call(settings: Settings, client: redis.Redis) -> SyncCall:
    """The sync function for `MARKETO_API` (SOAP today); `client` is for state shared by workers."""
    del client  # the SOAP transport keeps no shared state
    return SoapClient.from_settings(settings).sync_lead
