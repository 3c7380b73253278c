"""Comments in a Space's room (issue 15; domain/comments.py says why the newest page is
cacheable)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from majlis.api.deps import Me, Svc
from majlis.api.responses import JSON
from majlis.api.schemas import NewComment
from majlis.domain.shapes import CommentOut, CommentPage

router = APIRouter(prefix="/api/v1/spaces/{space_id}/comments", tags=["comments"])


@router.post("", status_code=201, response_model=None, responses={201: {"model": CommentOut}})
async def post_comment(space_id: str, body: NewComment, me: Me, svc: Svc) -> JSON:
    """Say something in the room while it is live (at most 5 comments per 10 s per person:
    429 past it; 403 if removed from the Space; 409 unless live). Everyone on the event stream
    gets it at once (``comment``, ``action: added``)."""
    return JSON(await svc.comments.post(me, space_id, body.text), status_code=201)


@router.get("", response_model=None, responses={200: {"model": CommentPage}})
async def list_comments(
    space_id: str,
    request: Request,
    svc: Svc,
    cursor: str | None = Query(default=None, max_length=200),
) -> Response:
    """Newest first, 50 a page, with the pinned one beside them. The newest page is the same
    for everyone for a second (``Cache-Control: public, max-age=1``, an ETag): edges collapse a
    large audience's polls into one origin request per second."""
    page = await svc.comments.page(space_id, cursor)
    headers = {
        "Cache-Control": "public, max-age=1" if cursor is None else "public, max-age=5",
        "ETag": page.etag,
    }
    if page.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(page.body, media_type="application/json", headers=headers)


@router.delete("/{comment_id}", status_code=204, response_class=Response)
async def delete_comment(space_id: str, comment_id: str, me: Me, svc: Svc) -> Response:
    """Its author, the host or a cohost deletes it (``comment``, ``action: deleted``)."""
    await svc.comments.delete(me, space_id, comment_id)
    return Response(status_code=204)


@router.post("/{comment_id}/pin", response_model=None, responses={200: {"model": CommentOut}})
async def pin_comment(space_id: str, comment_id: str, me: Me, svc: Svc) -> JSON:
    """The host or a cohost pins it: one at a time, the last pin wins."""
    return JSON(await svc.comments.pin(me, space_id, comment_id))


@router.delete("/{comment_id}/pin", status_code=204, response_class=Response)
async def unpin_comment(space_id: str, comment_id: str, me: Me, svc: Svc) -> Response:
    await svc.comments.unpin(me, space_id, comment_id)
    return Response(status_code=204)
