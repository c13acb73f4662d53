# SPDX-License-Identifier: MIT
"""The upstream FastAPI app of the integration tests: records every request that reaches it.

Run it with `/usr/bin/python3 -m uvicorn upstream_app:app`. Every request that
reaches the app is appended as JSON lines to the file named by the environment
variable UPSTREAM_RECORD: one "start" line as soon as the request arrives
(method, raw path, query, every header as a list of pairs, the peer address),
then one "body" line once the request body has been read completely (length
and SHA-256). The tests read that file directly, so the record never passes
through bearerd.
"""

import asyncio
import hashlib
import itertools
import json
import os
import time

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response, StreamingResponse

RECORD = os.environ.get("UPSTREAM_RECORD", "/tmp/upstream-record.jsonl")
_ids = itertools.count(1)

# A fixed block, repeated: the tests compute the same digest on their side.
BLOCK = bytes(range(256)) * 256  # 64 KiB


def _s(v):
    # uvicorn gives raw_path as bytes for HTTP but as str for WebSocket.
    return v.decode("latin-1") if isinstance(v, bytes) else v


def _write(obj):
    line = json.dumps(obj, separators=(",", ":")) + "\n"
    fd = os.open(RECORD, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class Recorder:
    """Pure ASGI middleware: records before the app sees anything."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.inner(scope, receive, send)
        rid = next(_ids)
        client = scope.get("client") or ("", 0)
        _write({
            "kind": "start",
            "id": rid,
            "t": time.time(),
            "type": scope["type"],
            "method": scope.get("method", "GET"),
            "raw_path": _s(scope.get("raw_path") or b""),
            "path": scope.get("path", ""),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "http_version": scope.get("http_version", ""),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")]
                for k, v in scope.get("headers", [])],
            "peer": [client[0], client[1]],
        })
        if scope["type"] == "websocket":
            return await self.inner(scope, receive, send)

        h = hashlib.sha256()
        state = {"n": 0, "done": False}

        async def recv():
            msg = await receive()
            if msg["type"] == "http.request" and not state["done"]:
                chunk = msg.get("body", b"")
                h.update(chunk)
                state["n"] += len(chunk)
                if not msg.get("more_body", False):
                    state["done"] = True
                    _write({"kind": "body", "id": rid, "len": state["n"],
                        "sha256": h.hexdigest()})
            return msg

        return await self.inner(scope, recv, send)


api = FastAPI()


def _echo(request: Request, body: bytes):
    return {
        "method": request.method,
        "path": request.url.path,
        "raw_path": _s(request.scope.get("raw_path") or b""),
        "query": request.url.query,
        "headers": [[k.decode("latin-1"), v.decode("latin-1")]
            for k, v in request.scope["headers"]],
        "body_len": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }


@api.get("/api/{user_id}/tasks")
async def list_tasks(user_id: str, request: Request):
    return {"user_id": user_id, "tasks": [{"id": 1, "title": "write tests"}],
        "echo": _echo(request, b"")}


@api.post("/api/{user_id}/tasks")
async def create_task(user_id: str, request: Request):
    body = await request.body()
    return JSONResponse({"user_id": user_id, "created": True,
        "echo": _echo(request, body)}, status_code=201)


@api.get("/{prefix}/{user_id}/download")
async def download(prefix: str, user_id: str, mb: int = 1, cl: int = 0):
    """|mb| MiB of BLOCK repeated; with cl=1 a Content-Length, else chunked."""
    n = mb * 16

    async def gen():
        for _ in range(n):
            yield BLOCK

    headers = {"Content-Length": str(n * len(BLOCK))} if cl else {}
    return StreamingResponse(gen(), media_type="application/octet-stream",
        headers=headers)


@api.api_route("/{prefix}/{user_id}/upload", methods=["POST", "PUT"])
async def upload(prefix: str, user_id: str, request: Request, delay: float = 0.0):
    """Counts and hashes the body; |delay| seconds before reading a byte, so
    the proxy in front has to hold the client back (backpressure)."""
    if delay:
        await asyncio.sleep(delay)
    h = hashlib.sha256()
    n = 0
    async for chunk in request.stream():
        h.update(chunk)
        n += len(chunk)
    return {"len": n, "sha256": h.hexdigest()}


@api.get("/{prefix}/{user_id}/sse")
async def sse(prefix: str, user_id: str, n: int = 4, delay: float = 0.3):
    async def gen():
        for i in range(n):
            yield f"id: {i}\nevent: tick\ndata: {{\"i\": {i}, \"t\": {time.time()}}}\n\n"
            if i + 1 < n:
                await asyncio.sleep(delay)

    return StreamingResponse(gen(), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"})


@api.get("/{prefix}/{user_id}/slow")
async def slow(prefix: str, user_id: str, s: float = 1.0):
    await asyncio.sleep(s)
    return {"slept": s}


@api.api_route("/{prefix}/{user_id}/res", methods=["GET", "HEAD"])
async def resource(prefix: str, user_id: str):
    body = b"resource body, 31 bytes long.\n"
    return Response(body, media_type="text/plain", headers={"ETag": '"r1"'})


@api.api_route("/{prefix}/{user_id}/empty", methods=["GET", "POST", "DELETE"])
async def empty(prefix: str, user_id: str):
    return Response(status_code=204)


@api.get("/{prefix}/{user_id}/cookies")
async def set_cookies(prefix: str, user_id: str):
    r = JSONResponse({"ok": True})
    r.headers.append("Set-Cookie", "a=1; Path=/; HttpOnly")
    r.headers.append("Set-Cookie", "b=2; Path=/; Max-Age=60")
    r.headers["X-Upstream"] = "yes"
    return r


@api.websocket("/{prefix}/{user_id}/ws")
async def ws_echo(websocket: WebSocket, prefix: str, user_id: str):
    await websocket.accept()
    try:
        while True:
            msg = await websocket.receive()
            if msg["type"] == "websocket.disconnect":
                break
            if msg.get("text") is not None:
                await websocket.send_text("echo:" + msg["text"])
            elif msg.get("bytes") is not None:
                await websocket.send_bytes(msg["bytes"])
    except WebSocketDisconnect:
        pass


@api.api_route("/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
async def echo(path: str, request: Request):
    body = await request.body()
    return _echo(request, body)


app = Recorder(api)
