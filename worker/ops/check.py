"""`leadsync check`: is this deployment able to sync leads, and if not, what exactly is wrong?

SOAP (`MARKETO_API=soap`): the one signed call is a `syncLead` that cannot write: its only key is
Marketo's largest lead Id (2**31 - 1), which no instance reaches, and it carries no email,
ForeignSysPersonId or cookie, so no insert can follow a miss. Marketo authenticates the header
first (20014 bad credentials, 20016 stale timestamp), then resolves the target workspace (unknown:
refused), then looks the Id up and answers "lead not found" (20103), which is the healthy answer.
The WSDL offers no read-only operation (leadsync's, like Marketo's 2_3 subset it mirrors, has only
syncLead and syncMultipleLeads), and an empty syncMultipleLeads is refused before the workspace
could be checked.

REST (`MARKETO_API=rest`): the check asks the identity service for a token of its own (client
credentials; never the token the workers share through Redis, which it must not disturb), then
makes one read-only call with it: `GET <MARKETO_REST_ENDPOINT>/v1/leads.json?filterType=id&
filterValues=2147483647`, the same unused lead Id. Success with an empty result is the healthy
answer: the token is accepted and nothing was written. Bearer tokens are not signed with the local
clock, so there a clock skew is reported but does not fail the endpoint step. Neither the client
secret nor the token appears in any finding.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import redis
import requests

from worker.config import ConfigError, Secret, Settings
from worker.jobs import MAX_LEAD_ID, SyncLeadJob
from worker.marketo import SoapClient
from worker.marketo.errors import MarketoError, TransientError
from worker.marketo.rest_auth import fetch_token
from worker.marketo.rest_errors import check_answer
from worker.marketo.soap import PACKAGED_WSDL, load_wsdl
from worker.marketo.transport_errors import translated_errors

PROBE_LEAD_ID = MAX_LEAD_ID
CHECK_TIMEOUT_S = 15.0  # for each network step; a healthy endpoint answers far sooner
SKEW_WARNING_S = 60.0  # Marketo's accepted age is unpublished; a minute off is already a risk
HEALTHY_PROBE_CODES = {20103}  # lead not found: authenticated, workspace resolved, nothing written
WORKSPACE_CODES = {20110}  # a bad parameter: the probe's only free parameter is the workspace
SOAP_LIMIT_CODES = {20015, 20023, 20024}  # quota, rate, concurrency: the credentials were accepted
REST_LIMIT_CODES = {606, 607, 615}  # rate, quota, concurrency: the token was accepted
REST_TOKEN_CODES = {601, 602}  # token invalid / expired
REST_PROBE_PATH = "/v1/leads.json"  # read-only: Get Leads by filter


@dataclass(frozen=True, slots=True)
class Finding:
    """One step's verdict: `ok`, and a sentence saying what was found or what to fix."""

    step: str
    ok: bool
    message: str


def run() -> Iterator[Finding]:
    """Every step in order; stops at the first one the later steps depend on."""
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        yield Finding("config", False, str(error))
        return
    missing = settings.missing_marketo_variables()
    if missing:
        yield Finding("config", False, f"MARKETO_API={settings.api} needs: {', '.join(missing)}")
        return
    yield from run_rest(settings) if settings.api == "rest" else run_soap(settings)


def run_soap(settings: Settings) -> Iterator[Finding]:
    """config, redis, wsdl, endpoint (and clock), signed call."""
    yield Finding("config", True, f"endpoint {settings.soap_endpoint}, user {settings.user_id}")
    yield check_redis(settings)
    wsdl = check_wsdl(settings)
    yield wsdl
    reach = check_endpoint(str(settings.soap_endpoint), "MARKETO_SOAP_ENDPOINT")
    yield reach
    if wsdl.ok and reach.ok:
        yield check_signed_call(settings)


def run_rest(settings: Settings) -> Iterator[Finding]:
    """config, redis, endpoint (clock only reported), token, REST call."""
    yield Finding(
        "config",
        True,
        f"MARKETO_API=rest, endpoint {settings.rest_endpoint}, identity service "
        f"{settings.rest_identity_url}, client id {settings.client_id}",
    )
    yield check_redis(settings)
    reach = check_endpoint(
        str(settings.rest_endpoint), "MARKETO_REST_ENDPOINT", clock_matters=False
    )
    yield reach
    with requests.Session() as session:
        issued, token = check_token(settings, session)
        yield issued
        if reach.ok and token is not None:
            yield check_rest_call(settings, session, token)


def check_redis(settings: Settings) -> Finding:
    """PING the configured Redis (REDIS_URL, else the recorded embedded server)."""
    from worker.embedded import recorded_url

    url = settings.redis_url or recorded_url(settings.state_dir)
    if not url:
        return Finding("redis", False, "REDIS_URL is not set and no embedded server is recorded")
    shown = _without_password(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        with client:
            client.ping()
    except redis.AuthenticationError:
        return Finding("redis", False, f"{shown} refused the password in REDIS_URL")
    except (redis.RedisError, OSError, ValueError) as error:
        return Finding("redis", False, f"{shown} is unreachable: {type(error).__name__}: {error}")
    return Finding("redis", True, f"{shown} answers PING")


def check_wsdl(settings: Settings) -> Finding:
    """Parse the WSDL the workers will use."""
    location = settings.wsdl or PACKAGED_WSDL
    try:
        load_wsdl(location)
    except Exception as error:  # zeep, lxml, requests and OS errors all mean "cannot use it"
        return Finding("wsdl", False, f"cannot load {location}: {type(error).__name__}: {error}")
    return Finding("wsdl", True, f"loaded {'the packaged WSDL' if not settings.wsdl else location}")


def check_endpoint(endpoint: str, variable: str, *, clock_matters: bool = True) -> Finding:
    """Reach the endpoint over HTTP and compare the local clock with its Date header.

    Any HTTP answer counts as reachable. A skew beyond `SKEW_WARNING_S` fails the step only when
    `clock_matters` (SOAP signs a timestamp; REST bearer tokens do not use the local clock).
    """
    try:
        skew_s = clock_skew_s(endpoint)
    except requests.RequestException as error:
        reason = type(error).__name__
        return Finding("endpoint", False, f"{endpoint} is unreachable ({reason}): check {variable}")
    if skew_s is None:
        return Finding("endpoint", True, f"{endpoint} answers (no Date header to compare clocks)")
    if clock_matters and abs(skew_s) > SKEW_WARNING_S:
        return Finding("endpoint", False, f"{endpoint} answers, but {describe_skew(skew_s)}")
    return Finding("endpoint", True, f"{endpoint} answers; {describe_skew(skew_s)}")


def clock_skew_s(endpoint: str, *, now: Callable[[], float] = time.time) -> float | None:
    """Local clock minus the server's (from its Date header, whole seconds), or None."""
    sent = now()
    response = requests.get(endpoint, timeout=CHECK_TIMEOUT_S, allow_redirects=False)
    received = now()
    date = response.headers.get("Date")
    if not date:
        return None
    return (sent + received) / 2 - parsedate_to_datetime(date).timestamp()


def describe_skew(skew_s: float) -> str:
    """A plain sentence about the clock difference (Date headers have one-second resolution)."""
    if abs(skew_s) < 2:
        return "the local clock agrees with the server's"
    direction = "ahead of" if skew_s > 0 else "behind"
    return f"the local clock is {abs(skew_s):.0f} s {direction} the server's: fix NTP on this host"


def check_signed_call(settings: Settings) -> Finding:
    """One signed `syncLead` that cannot write (see the module docstring), and what it says."""
    probe_settings = settings.with_overrides(read_timeout_s=probe_timeouts(settings)[1])
    try:
        with SoapClient.from_settings(probe_settings) as client:
            result = client.sync_lead(SyncLeadJob(lead_id=PROBE_LEAD_ID))
    except MarketoError as error:
        return diagnose(error, settings)
    return Finding(
        "signed call",
        True,
        f"accepted; Marketo even matched lead Id {PROBE_LEAD_ID} ({result.status})",
    )


def diagnose(error: MarketoError, settings: Settings) -> Finding:
    """Turn the probe's error into what to fix."""
    code = error.code
    if code in HEALTHY_PROBE_CODES:
        return Finding(
            "signed call",
            True,
            f"signature and credentials accepted (Marketo answered {code} for the probe's "
            "unused lead Id, as intended; nothing was written)",
        )
    if code == 20014:
        return Finding(
            "signed call",
            False,
            "authentication failed (20014): MARKETO_USER_ID or MARKETO_ENCRYPTION_KEY is wrong",
        )
    if code == 20016:
        try:
            skew = describe_skew(clock_skew_s(str(settings.soap_endpoint)) or 0.0)
        except requests.RequestException:
            skew = "the server's clock could not be read"
        return Finding(
            "signed call",
            False,
            f"request expired (20016): the signed timestamp is outside the server's window, "
            f"so this host's clock or time zone is off; {skew}",
        )
    if code in WORKSPACE_CODES and settings.workspace:
        return Finding(
            "signed call",
            False,
            f"unknown workspace ({code}): MARKETO_WORKSPACE={settings.workspace!r} is not a "
            f"workspace of this instance ({error.message})",
        )
    if code == 20013:
        return Finding("signed call", False, "access denied (20013): the API user lacks rights")
    return verdict("signed call", error, "SOAP", SOAP_LIMIT_CODES, "credentials")


def probe_timeouts(settings: Settings) -> tuple[float, float]:
    """Connect and read timeouts for a probe call: the workers' read timeout, capped."""
    return settings.connect_timeout_s, min(settings.read_timeout_s, CHECK_TIMEOUT_S)


def check_token(settings: Settings, session: requests.Session) -> tuple[Finding, Secret | None]:
    """A token of the check's own from the identity service (never the workers' shared one)."""
    where = f"{str(settings.rest_identity_url).rstrip('/')}/oauth/token"
    try:
        token = fetch_token(
            session,
            identity_url=str(settings.rest_identity_url),
            client_id=str(settings.client_id),
            client_secret=settings.client_secret,
            timeouts=probe_timeouts(settings),
        )
    except MarketoError as error:
        # Bad credentials name their variables already; anything else is the URL's doing.
        fix = "" if "MARKETO_" in error.message else ": check MARKETO_REST_IDENTITY_URL"
        return Finding("token", False, f"no token from {where}: {error.message}{fix}"), None
    issued = f"{where} issued a token (expires in {token.expires_in_s:.0f} s)"
    return Finding("token", True, issued), token.value


def check_rest_call(settings: Settings, session: requests.Session, token: Secret) -> Finding:
    """One read-only Get Leads for the unused lead Id (see the module docstring), and its answer."""
    hidden = (token.reveal(), *settings.secrets())
    query = {"filterType": "id", "filterValues": str(PROBE_LEAD_ID), "fields": "id"}
    try:
        with translated_errors(secrets=hidden):
            response = session.get(
                str(settings.rest_endpoint).rstrip("/") + REST_PROBE_PATH,
                params=query,
                headers={"Authorization": f"Bearer {token.reveal()}"},
                timeout=probe_timeouts(settings),
            )
            answer = check_answer(response, secrets=hidden)
    except MarketoError as error:
        return diagnose_rest(error)
    found = "even found it" if answer.get("result") else "found nothing, as intended"
    return Finding(
        "REST call",
        True,
        f"token accepted; nothing was written (Get Leads for the unused lead Id {PROBE_LEAD_ID} "
        f"{found})",
    )


def diagnose_rest(error: MarketoError) -> Finding:
    """Turn the REST probe's error into what to fix."""
    code = error.code
    if code in REST_TOKEN_CODES:
        return Finding(
            "REST call",
            False,
            f"the token was refused right after it was issued ({error}): "
            "MARKETO_REST_IDENTITY_URL and MARKETO_REST_ENDPOINT must belong to the same "
            "instance (the same Munchkin id); if they do, run the check again",
        )
    if code == 603:
        return Finding(
            "REST call",
            False,
            "access denied (603): the API user of MARKETO_CLIENT_ID lacks permission; give its "
            "role the Read-Write Lead permission",
        )
    return verdict("REST call", error, "REST", REST_LIMIT_CODES, "token")


def verdict(
    step: str, error: MarketoError, api: str, limit_codes: set[int], accepted: str
) -> Finding:
    """What both APIs' probes say alike: limited now, not Marketo at all, a passing problem, or
    refused."""
    if error.code in limit_codes:
        return Finding(
            step, True, f"{accepted} accepted, but Marketo is limiting this instance now ({error})"
        )
    if error.code is None:
        return Finding(
            step,
            False,
            f"the endpoint did not answer as Marketo {api}: {error.message}: "
            f"check MARKETO_{api}_ENDPOINT",
        )
    if isinstance(error, TransientError):
        return Finding(
            step, False, f"Marketo had a passing problem ({error}): run the check again shortly"
        )
    return Finding(step, False, f"Marketo refused the call: {error}")


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
