from __future__ import annotations

from anyio import to_thread
from litestar import Controller, Request, Response, post

from shared_schema.wire import login_request_decoder
from sync_server.domain.auth import service
from sync_server.http import client_address, decode, json_response, read_body


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", summary="Log in a device", operation_id="login", request_max_body_size=None)
    async def login(self, request: Request) -> Response:
        req = decode(await read_body(request, 64 * 1024), login_request_decoder)
        state = request.app.state
        res = await to_thread.run_sync(service.login, state.store, state.settings, req,
                                       client_address(request, state.settings),
                                       limiter=state.login_limiter)
        return json_response(res)

    @post("/logout", summary="Revoke this device's login", operation_id="logout",
          request_max_body_size=None)
    async def logout(self, request: Request) -> Response:
        state = request.app.state
        res = await to_thread.run_sync(service.logout, state.store, state.settings,
                                       request.headers.get("authorization"))
        return json_response(res)
