"""Fixtures for the Marketo client tests: a real HTTP server and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_marketo import KEY, USER_ID, FakeMarketo, start

from worker.config import Secret
from worker.marketo.soap import SoapClient


@pytest.fixture
def marketo() -> Iterator[FakeMarketo]:
    state = FakeMarketo()
    server = start(state)
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_client(marketo: FakeMarketo) -> Iterator[object]:
    clients: list[SoapClient] = []

    def make(**options: object) -> SoapClient:
        settings: dict[str, object] = {
            "endpoint": marketo.endpoint,
            "user_id": USER_ID,
            "encryption_key": Secret(KEY),
            "connect_timeout_s": 2.0,
            "read_timeout_s": 2.0,
        } | options
        client = SoapClient(**settings)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: object) -> SoapClient:
    return make_client()  # type: ignore[operator]
