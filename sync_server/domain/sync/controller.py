"""Push, pull and receipt (docs/protocol.md): the sync wire, byte for byte."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from shared_schema.wire import PullResponse, PushRequest, PushResponse, Receipt
from sync_server.body import Deferred
from sync_server.domain.sync import service
from sync_server.guards import signed_in
from sync_server.dependencies import AppSettings, CurrentPrincipal, Store
from sync_server.observability import count_push
from sync_server.http import ACCEPTS, INT64_MAX, json_response, response_coding


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]
    guards = [signed_in]
    security = [{"bearer": []}]

    @post("/push", summary="Push a batch of mutations", operation_id="push", status_code=200,
          request_max_body_size=None, opt={"max_body": "max_push_bytes"})
    async def push(self, request: Request, data: JSONBody[Deferred[PushRequest]],
                   principal: CurrentPrincipal,
                   store: Store, settings: AppSettings) -> Response[PushResponse]:
        coding = response_coding(request)

        def run() -> Response:  # decode, push, encode and compress off the event loop
            res = service.push(store, settings, principal, data.decode())
            count_push(res.results)  # /metrics: mutations by result
            return json_response(res, headers=ACCEPTS, coding=coding)

        return await to_thread.run_sync(run)

    @get("/pull", summary="Pull changes since a cursor", operation_id="pull")
    async def pull(self, request: Request, principal: CurrentPrincipal, store: Store,
                   settings: AppSettings,
                   since: Annotated[int, QueryParameter(ge=0, le=INT64_MAX)] = 0,
                   limit: Annotated[int | None, QueryParameter(ge=1, le=INT64_MAX)] = None,
                   ) -> Response[PullResponse]:
        coding = response_coding(request)

        def run() -> Response:  # one worker-thread hop: page, encode and compress
            res = service.pull(store, settings, principal, since, limit)
            return json_response(res, headers=ACCEPTS, coding=coding)

        return await to_thread.run_sync(run)

    @get("/receipt", summary="What the server holds from a device", operation_id="receipt")
    async def receipt(self, principal: CurrentPrincipal, store: Store,
                      device_id: FromQuery[str | None] = None) -> Response[Receipt]:
        res = await to_thread.run_sync(service.receipt, store, principal, device_id)
        return json_response(res)
