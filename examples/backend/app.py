# SPDX-License-Identifier: MIT
"""The example tasks backend, written the usual tutorial way: it verifies an HS256 Bearer token.

It knows nothing about cookies or bearerd. It reads `Authorization: Bearer`,
verifies the JWT with PyJWT and the shared secret BACKEND_JWT_SECRET, takes
the user id from `sub`, and refuses other users' paths itself. Behind bearerd
in mint mode, the tokens it receives are minted by bearerd with that secret.

    BACKEND_JWT_SECRET=... /usr/bin/python3 -m uvicorn app:app --port 8000
"""

import os
import threading

import jwt
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

SECRET = os.environ.get("BACKEND_JWT_SECRET", "")
if len(SECRET.encode()) < 32:
    raise SystemExit("BACKEND_JWT_SECRET must be set and at least 32 bytes")

app = FastAPI(title="tasks backend")
bearer = HTTPBearer(auto_error=False)

_tasks = {}
_lock = threading.Lock()


class TaskIn(BaseModel):
    title: str
    done: bool = False


def _unauthorized(detail):
    return HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=detail,
        headers={"WWW-Authenticate": "Bearer"})


def current_user(creds: HTTPAuthorizationCredentials = Depends(bearer)) -> dict:
    if creds is None or creds.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token")
    try:
        claims = jwt.decode(creds.credentials, SECRET, algorithms=["HS256"],
            options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired")
    except jwt.PyJWTError:
        raise _unauthorized("invalid token")
    return claims


def same_user(user_id: str, claims: dict):
    if claims.get("sub") != user_id:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN,
            detail="not your tasks")


@app.get("/health")
def health():
    return {"ok": True}


@app.get("/api/{user_id}/tasks")
def list_tasks(user_id: str, claims: dict = Depends(current_user)):
    same_user(user_id, claims)
    with _lock:
        return {"user_id": user_id, "tasks": list(_tasks.get(user_id, []))}


@app.post("/api/{user_id}/tasks", status_code=201)
def create_task(user_id: str, task: TaskIn, claims: dict = Depends(current_user)):
    same_user(user_id, claims)
    with _lock:
        items = _tasks.setdefault(user_id, [])
        item = {"id": len(items) + 1, "title": task.title, "done": task.done}
        items.append(item)
    return item
