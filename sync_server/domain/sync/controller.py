from __future__ import annotations

from anyio import to_thread
from litestar import Controller, Request, Response, get, post

from shared_schema.wire import push_request_decoder
from sync_server.domain.sync import service
from sync_server.http import (
    ACCEPTS,
    decode,
    int_param,
    json_response,
    principal,
    read_body,
    response_coding,
)


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]

    @post("/push", summary="Push a batch of mutations", operation_id="push",
          request_max_body_size=None)
    async def push(self, request: Request) -> Response:
        state = request.app.state
        p = principal(request)  # on the loop, before the body is read
        body = await read_body(request, state.settings.max_push_bytes)
        coding = response_coding(request)

        def run() -> Response:  # decode, push, encode and compress off the event loop
            req = decode(body, push_request_decoder)
            res = service.push(state.store, state.settings, p, req)
            return json_response(res, headers=ACCEPTS, coding=coding)

        return await to_thread.run_sync(run)

    @get("/pull", summary="Pull changes since a cursor", operation_id="pull")
    async def pull(self, request: Request) -> Response:
        state = request.app.state

        def run() -> Response:  # one worker-thread hop: auth, page, encode and compress
            p = principal(request)
            since = int_param(request, "since", 0)
            limit = int_param(request, "limit", None)
            res = service.pull(state.store, state.settings, p, since, limit)
            return json_response(res, headers=ACCEPTS, coding=response_coding(request))

        return await to_thread.run_sync(run)

    @get("/receipt", summary="What the server holds from a device", operation_id="receipt")
    async def receipt(self, request: Request) -> Response:
        state = request.app.state
        p = principal(request)
        res = await to_thread.run_sync(
            service.receipt, state.store, p, request.query_params.get("device_id"))
        return json_response(res)
