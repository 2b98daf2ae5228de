"""A cap on request bodies, answered as a problem before the body is read into memory."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.i18n import _l, scope_language
from app.core.logging import request_id_var
from app.core.problems import PROBLEM_MEDIA_TYPE, Problem


class PayloadTooLarge(Problem):
    status = 413
    code = "payload_too_large"
    title = "The request body is too large"


class BodySizeLimitMiddleware:
    """Refuse bodies above the cap (by Content-Length, or while streaming one without):
    ``max_bytes`` for JSON and forms, ``max_upload_bytes`` for multipart uploads."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_json_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
        limit = self.max_upload_bytes if multipart else self.max_json_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        received = 0
        responded = False

        async def counting_receive() -> Message:
            nonlocal received, responded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not responded:
                    # answer now and tell the app the client went away, so it stops reading
                    responded = True
                    await self._refuse(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not responded:  # after a 413, whatever the app says goes nowhere
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        problem = PayloadTooLarge(
            _l("Bodies of this kind are limited to {limit} bytes", limit=limit)
        )
        body = problem.body(
            instance=scope.get("path"),
            request_id=request_id_var.get(),
            language=scope_language(scope),
        )
        payload = json.dumps(body.model_dump(mode="json", exclude_none=True)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
