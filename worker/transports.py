"""Which Marketo API the workers call: the one place that turns settings into a `call` function."""

from __future__ import annotations

import redis
import requests

from worker.config import ConfigError, Settings
from worker.marketo import SoapClient
from worker.marketo.rest import RestClient
from worker.marketo.rest_auth import AccessToken, fetch_token
from worker.marketo.rest_options import RestOptions
from worker.marketo.result import PrepareCall, unprepared
from worker.policy.limiter import RateLimiter
from worker.policy.tokens import SharedToken, token_scope


def build_call(settings: Settings, client: redis.Redis) -> PrepareCall:
    """The sync call for `MARKETO_API`; `client` holds state shared by workers (the token).

    A SOAP call is signed and serialized when prepared; a REST call is all done at its send (its
    token may be renewed in between)."""
    if settings.api == "rest":
        return unprepared(build_rest_client(settings, client).sync_lead)
    return SoapClient.from_settings(settings).prepare_sync_lead


def build_rest_client(
    settings: Settings, client: redis.Redis, options: RestOptions | None = None
) -> RestClient:
    """A REST client whose token is shared through Redis and whose extra calls use the limiter."""
    if not (settings.rest_endpoint and settings.rest_identity_url and settings.client_id):
        raise ConfigError(
            "MARKETO_API=rest needs MARKETO_REST_ENDPOINT, MARKETO_REST_IDENTITY_URL, "
            "MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET"
        )
    options = options or RestOptions.from_env()
    identity_url, client_id = settings.rest_identity_url, settings.client_id
    identity = requests.Session()
    timeouts = (settings.connect_timeout_s, settings.read_timeout_s)

    def fetch() -> AccessToken:
        return fetch_token(
            identity,
            identity_url=identity_url,
            client_id=client_id,
            client_secret=settings.client_secret,
            timeouts=timeouts,
        )

    tokens = SharedToken(
        client,
        fetch=fetch,
        scope=token_scope(identity_url, client_id),
        margin_s=options.token_margin_s,
    )
    limiter = RateLimiter.from_settings(client, settings)
    return RestClient(
        endpoint=settings.rest_endpoint,
        tokens=tokens,
        options=options,
        workspace=settings.workspace,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.read_timeout_s,
        pace=limiter.wait,
        hidden=tuple(settings.secrets()),
    )
