"""The sandbox's ASGI app: the SOAP endpoint and the REST face beside the inspection API."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from .config import SandboxConfig
from .inspection import routes
from .rest import rest_routes
from .soap_endpoint import SoapEndpoint
from .state import SandboxState

SOAP_PATH = "/soap/mktows/2_3"


def build_app(config: SandboxConfig) -> Starlette:
    """A fresh sandbox (own leads, limits, call log) as ASGI app; state at `app.state.sandbox`."""
    state = SandboxState(config)
    soap = Route(SOAP_PATH, SoapEndpoint(state))
    app = Starlette(routes=[soap, *rest_routes(state), *routes(state)])
    app.state.sandbox = state
    return app
