"""Request dependencies: the node's services and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from majlis.domain.errors import Unauthorized
from majlis.domain.model import Account, Session
from majlis.services import Services

bearer = HTTPBearer(auto_error=False, description="a token from POST /api/v1/sessions")


async def services(request: Request) -> Services:
    """``async`` on purpose: FastAPI runs a plain ``def`` dependency in a thread pool, which on
    the join path cost a thread hop per request (join went from 38 % to 57 % of hello-world)."""
    svc: Services = request.app.state.services
    return svc


def _token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None:
        return credentials.credentials
    if request.headers.get("authorization"):
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return None


async def maybe_session(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    svc: Annotated[Services, Depends(services)],
) -> tuple[Account, Session] | None:
    """The caller and their session (a device) if they sent a token; 401 if it is not live."""
    token = _token(request, credentials)
    if token is None:
        return None
    found = await svc.accounts.session(token)
    if found is None:
        raise Unauthorized("the token is not valid (signed out, or never issued); sign in again")
    return found


async def current_session(
    found: Annotated[tuple[Account, Session] | None, Depends(maybe_session)],
) -> tuple[Account, Session]:
    """Who is calling and with which session: for what concerns sessions themselves."""
    if found is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>")
    return found


async def maybe_signed_in(
    found: Annotated[tuple[Account, Session] | None, Depends(maybe_session)],
) -> Account | None:
    return None if found is None else found[0]


async def streaming_session(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    svc: Annotated[Services, Depends(services)],
) -> tuple[Account, Session]:
    """Who opens a stream: the bearer token, or (EventSource cannot send headers) a stream
    ticket in the query string, never the token itself (``security/stream_tickets.py``)."""
    ticket = request.query_params.get("ticket")
    if credentials is not None or ticket is None:
        return await current_session(await maybe_session(request, credentials, svc))
    found = await svc.accounts.redeem_ticket(ticket)
    if found is None:
        raise Unauthorized(
            "the stream ticket is not valid (expired, used already, or its session ended); "
            "ask POST /api/v1/stream-tickets for a new one"
        )
    return found


async def signed_in(account: Annotated[Account | None, Depends(maybe_signed_in)]) -> Account:
    if account is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>")
    return account


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


Svc = Annotated[Services, Depends(services)]
Me = Annotated[Account, Depends(signed_in)]
MaybeMe = Annotated[Account | None, Depends(maybe_signed_in)]
MySession = Annotated[tuple[Account, Session], Depends(current_session)]
StreamingSession = Annotated[tuple[Account, Session], Depends(streaming_session)]
MaybeSession = Annotated[tuple[Account, Session] | None, Depends(maybe_session)]
