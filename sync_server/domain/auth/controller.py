"""Login and logout of a device (docs/protocol.md, "Login")."""

from __future__ import annotations

from anyio import to_thread
from litestar import Controller, Request, Response, post
from litestar.params import JSONBody

from shared_schema.wire import LoginRequest, LoginResponse
from sync_server.domain.auth import service
from sync_server.domain.auth.service import LogoutResponse
from sync_server.dependencies import AppSettings, Store
from sync_server.http import client_address, json_response


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", summary="Log in a device", operation_id="login", status_code=200,
          request_max_body_size=None, opt={"max_body": 64 * 1024})
    async def login(self, request: Request, store: Store, settings: AppSettings,
                    data: JSONBody[LoginRequest]) -> Response[LoginResponse]:
        res = await to_thread.run_sync(service.login, store, settings, data,
                                       client_address(request, settings),
                                       limiter=request.app.state.login_limiter)
        return json_response(res)

    @post("/logout", summary="Revoke this device's login", operation_id="logout",
          status_code=200, security=[{"bearer": []}])
    async def logout(self, request: Request, store: Store,
                     settings: AppSettings) -> Response[LogoutResponse]:
        res = await to_thread.run_sync(service.logout, store, settings,
                                       request.headers.get("authorization"))
        return json_response(res)
