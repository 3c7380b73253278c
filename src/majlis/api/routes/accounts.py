"""Accounts, sessions and follows (API.md "Accounts and reach")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from majlis.api.deps import MaybeMe, Me, MySession, Svc, client_ip
from majlis.api.responses import JSON
from majlis.api.schemas import NewAccount, SignIn
from majlis.domain.render import account_json, iso
from majlis.domain.shapes import (
    AccountOut,
    SessionInfoOut,
    SessionOut,
    SessionPage,
    StreamTicketOut,
)
from majlis.security.stream_tickets import TTL_S as TICKET_TTL_S

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post(
    "/accounts", status_code=201, response_model=None, responses={201: {"model": AccountOut}}
)
async def create_account(body: NewAccount, request: Request, svc: Svc) -> JSON:
    account = await svc.accounts.sign_up(
        body.handle, body.password, body.display_name, client_ip(request)
    )
    return JSON(account_json(account), status_code=201)


@router.post(
    "/sessions", status_code=201, response_model=None, responses={201: {"model": SessionOut}}
)
async def create_session(body: SignIn, request: Request, svc: Svc) -> JSON:
    token, account = await svc.accounts.sign_in(body.handle, body.password, client_ip(request))
    return JSON(SessionOut(token=token, account=account_json(account)), status_code=201)


@router.get("/sessions", response_model=None, responses={200: {"model": SessionPage}})
async def list_sessions(mine: MySession, svc: Svc) -> JSON:
    """My signed-in devices, most recently used first; ``current`` is the one asking."""
    me, current = mine
    listed = await svc.accounts.sessions(me, current)
    items = [
        SessionInfoOut(
            id=s.id, created_at=iso(s.created_at), last_used_at=iso(s.last_used_at), current=c
        )
        for s, c in listed
    ]
    return JSON(SessionPage(items=items, next_cursor=None))


@router.post(
    "/stream-tickets",
    status_code=201,
    response_model=None,
    responses={201: {"model": StreamTicketOut}},
)
async def stream_ticket(mine: MySession, svc: Svc) -> JSON:
    """A ticket for ``EventSource`` (which cannot send the token): ``?ticket=`` opens one
    stream of this session within a minute."""
    _, session = mine
    ticket = svc.accounts.stream_ticket(session)
    return JSON(StreamTicketOut(ticket=ticket, expires_in=TICKET_TTL_S), status_code=201)


@router.delete("/sessions/current", status_code=204, response_class=Response)
async def delete_session(request: Request, me: Me, svc: Svc) -> Response:
    """Sign out: the token stops working at once on this node (and within seconds on others)."""
    token = request.headers["authorization"].split(" ", 1)[1].strip()
    await svc.accounts.sign_out(token)
    return Response(status_code=204)


@router.delete("/sessions/{session_id}", status_code=204, response_class=Response)
async def end_session(
    session_id: Annotated[str, Path(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_-]+$")],
    me: Me,
    svc: Svc,
) -> Response:
    """End one of my sessions (a lost phone): its token stops working, its streams close."""
    await svc.accounts.end_session(me, session_id)
    return Response(status_code=204)


@router.get("/accounts/{handle}", response_model=None, responses={200: {"model": AccountOut}})
async def get_account(handle: str, svc: Svc, me: MaybeMe) -> JSON:
    """The account; asked with a token, also ``followed_by_me`` (the profile's follow button)."""
    account = await svc.accounts.get(handle)
    body = account_json(account)
    if me is not None:
        body["followed_by_me"] = account.id in await svc.ctx.store.followee_ids(me.id)
    return JSON(body)


@router.post("/accounts/{handle}/follow", status_code=204, response_class=Response)
async def follow(handle: str, me: Me, svc: Svc) -> Response:
    await svc.accounts.follow(me, handle)
    return Response(status_code=204)


@router.delete("/accounts/{handle}/follow", status_code=204, response_class=Response)
async def unfollow(handle: str, me: Me, svc: Svc) -> Response:
    await svc.accounts.unfollow(me, handle)
    return Response(status_code=204)
