"""Who may call: the login and the roles of an endpoint, checked before a body is read.

``signed_in`` finds the caller from its bearer token (the 401 errors of
``auth.service.authenticate``), once per request; ``role_in`` refuses a
caller out of role with 403 ``forbidden``. Guards run before Litestar reads
a body, so a refused caller never costs the server its body.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard

from sync_server.domain.auth.service import authenticate
from sync_server.domain.office.access import require
from sync_server.domain.principal import Principal


def current_principal(connection: ASGIConnection) -> Principal:
    """The caller, from its bearer token; found once, then kept in the request's state."""
    p = connection.state.get("principal")
    if p is None:
        app = connection.app.state
        p = authenticate(app.store, app.settings, connection.headers.get("authorization"))
        connection.state.principal = p
    return p


def signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    current_principal(connection)


def role_in(roles: frozenset[str], action: str = "use the office console") -> Guard:
    """A guard that lets only ``roles`` through (after the login)."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        require(current_principal(connection), roles, action)

    guard.__name__ = f"role_in_{'_'.join(sorted(roles))}"
    return guard
