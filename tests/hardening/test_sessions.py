"""Sessions a person can see and end (issue 14, finding 6; API.md "To build"): ``GET
/api/v1/sessions`` lists my signed-in devices, ``DELETE /api/v1/sessions/{id}`` ends one (its
token stops working and the streams it opened close), and a session unused for
``session_idle_days`` ends by itself."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from majlis.store import tables
from tests.cluster.redis_process import start_redis, stop_redis
from tests.media.bot_thread import BotThread
from tests.support.client import Api, User, problem_of
from tests.support.server import RunningServer, free_port, query, run_server
from tests.support.services import postgres_database
from tests.support.sse import EventReader
from tests.support.wait import eventually


def wait_for(condition: Callable[[], bool], message: str = "") -> None:
    eventually(condition, message=message or "never happened")


def _sessions(user: User) -> list[dict[str, object]]:
    answer = user.get("/api/v1/sessions")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["next_cursor"] is None
    items: list[dict[str, object]] = body["items"]
    return items


def test_i_see_my_devices_and_which_one_is_asking(api: Api) -> None:
    phone = api.sign_up("devices")
    laptop = api.sign_in(phone.handle)
    stranger = api.sign_up("stranger")
    from_phone, from_laptop = _sessions(phone), _sessions(laptop)
    assert {s["id"] for s in from_phone} == {s["id"] for s in from_laptop}
    assert len(from_phone) == 2
    assert [s["current"] for s in from_phone].count(True) == 1
    current_on_phone = next(s for s in from_phone if s["current"])
    current_on_laptop = next(s for s in from_laptop if s["current"])
    assert current_on_phone["id"] != current_on_laptop["id"]
    assert set(from_phone[0]) == {"id", "created_at", "last_used_at", "current"}
    # Nothing of the token is in what is listed, and nobody else's session is.
    assert phone.token not in str(from_phone) and laptop.token not in str(from_phone)
    assert {s["id"] for s in _sessions(stranger)}.isdisjoint({s["id"] for s in from_phone})
    problem_of(api.http.get("/api/v1/sessions"), 401)


def test_ending_a_lost_device_revokes_its_token_and_closes_its_streams(api: Api) -> None:
    phone = api.sign_up("lost")
    laptop = api.sign_in(phone.handle)
    lost = next(s["id"] for s in _sessions(phone) if s["current"])
    inbox = EventReader(
        api.base_url,
        "/api/v1/notifications/stream",
        headers={"Authorization": f"Bearer {phone.token}"},
    )
    try:
        assert inbox.status == 200
        assert laptop.delete(f"/api/v1/sessions/{lost}").status_code == 204
        inbox.wait_for("<closed>", timeout=10)  # the phone's open stream ends
    finally:
        inbox.close()
    problem_of(phone.get("/api/v1/sessions"), 401)
    assert [s["id"] for s in _sessions(laptop)] != [lost]
    assert len(_sessions(laptop)) == 1
    # Ending it again, or a session that is not mine, is a 404 that changes nothing.
    problem_of(laptop.delete(f"/api/v1/sessions/{lost}"), 404)
    other = api.sign_up("other")
    mine = next(s["id"] for s in _sessions(laptop) if s["current"])
    problem_of(other.delete(f"/api/v1/sessions/{mine}"), 404)
    assert len(_sessions(laptop)) == 1
    problem_of(laptop.delete("/api/v1/sessions/" + "x" * 40), 422)


def test_signing_out_closes_the_streams_of_that_session_only(api: Api) -> None:
    phone = api.sign_up("signout")
    laptop = api.sign_in(phone.handle)
    readers = {
        who: EventReader(
            api.base_url,
            "/api/v1/notifications/stream",
            headers={"Authorization": f"Bearer {user.token}"},
        )
        for who, user in (("phone", phone), ("laptop", laptop))
    }
    try:
        assert phone.delete("/api/v1/sessions/current").status_code == 204
        readers["phone"].wait_for("<closed>", timeout=10)
        # The laptop's stream stays open: a notice still reaches it.
        fan = api.sign_up("fan")
        assert fan.post(f"/api/v1/accounts/{laptop.handle}/follow").status_code == 204
        readers["laptop"].wait_for("notification", timeout=10)
    finally:
        for reader in readers.values():
            reader.close()


def test_ending_a_session_hangs_up_the_whip_session_it_opened(
    server: RunningServer, api: Api
) -> None:
    """A speaker's phone is lost while on stage: ending its session from the laptop takes the
    phone off the air (its WHIP session ends), and leaves the laptop's own untouched."""
    phone = api.sign_up("onair")
    laptop = api.sign_in(phone.handle)
    space = phone.create_space("Lost phone")
    rooms = server.services.media.rooms
    bot = BotThread(server.base_url, space["id"], phone.token, 440)
    try:
        wait_for(lambda: bool(rooms.get(space["id"]) and rooms[space["id"]].sessions))
        room = rooms[space["id"]]
        on_air = next(iter(room.sessions.values()))
        lost = next(s["id"] for s in _sessions(phone) if s["current"])
        assert on_air.auth_session == lost
        # Another session of the same person ending leaves the phone on the air.
        assert server.call(room.end_auth_session("another-session")) == 0
        assert list(room.sessions.values()) == [on_air]
        assert laptop.delete(f"/api/v1/sessions/{lost}").status_code == 204
        wait_for(lambda: not room.sessions, message="the lost phone's WHIP session stayed up")
        assert laptop.post(f"/api/v1/spaces/{space['id']}/end").status_code == 200
    finally:
        bot.close()


def test_a_session_unused_for_the_idle_limit_ends(tmp_path: Path) -> None:
    # No token cache: each request reads the session, so the aging below is seen at once.
    with run_server(tmp_path, session_idle_days=7, token_cache_ttl_s=0) as server:
        api = Api(server.base_url)
        user = api.sign_up("idle")
        kept = api.sign_in(user.handle)
        assert len(_sessions(kept)) == 2
        _age(server, user.token, timedelta(days=8))
        problem_of(user.get("/api/v1/sessions"), 401)
        assert len(_sessions(kept)) == 1  # it ended, and is no longer listed
        _age(server, kept.token, timedelta(days=6))
        assert len(_sessions(kept)) == 1  # within the limit: still works
        api.close()


def _age(server: RunningServer, token: str, by: timedelta) -> None:
    """Make a session last used ``by`` ago, as if that much time had passed unused."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    from majlis.security.tokens import token_hash

    async def write() -> None:
        engine = create_async_engine(server.settings.resolved_database_url())
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    update(tables.sessions)
                    .where(tables.sessions.c.token_hash == token_hash(token))
                    .values(last_used_at=datetime.now(UTC) - by)
                )
        finally:
            await engine.dispose()

    asyncio.run(write())
    assert query(server, select(tables.sessions.c.last_used_at))


@pytest.mark.redis
def test_a_session_ended_while_redis_is_down_hangs_up_its_whip_session_after(
    tmp_path: Path,
) -> None:
    """The ``session_ended`` event cannot be published while the bus (Redis) is down: the
    session still ends (its token stops working), and its WHIP session hangs up once the media
    plane catches up with the store after Redis is back."""
    port = free_port()
    redis = start_redis(port, tmp_path)
    try:
        with (
            postgres_database() as database_url,
            run_server(tmp_path, database_url, redis_url=f"redis://127.0.0.1:{port}/0") as server,
            closing(Api(server.base_url)) as api,
        ):
            phone = api.sign_up("outage")
            laptop = api.sign_in(phone.handle)
            space = phone.create_space("Lost in the outage")
            rooms = server.services.media.rooms
            bot = BotThread(server.base_url, space["id"], phone.token, 440)
            try:
                wait_for(lambda: bool(rooms.get(space["id"]) and rooms[space["id"]].sessions))
                room = rooms[space["id"]]
                lost = next(s["id"] for s in _sessions(phone) if s["current"])
                stop_redis(redis)
                ended = laptop.delete(f"/api/v1/sessions/{lost}")
                assert ended.status_code == 204, ended.text
                assert phone.get("/api/v1/sessions").status_code == 401  # over at once
                assert room.sessions, "hung up with the bus away: nothing left to test"
                redis = start_redis(port, tmp_path)
                wait_for(lambda: not room.sessions, message="the WHIP session stayed up")
                assert laptop.post(f"/api/v1/spaces/{space['id']}/end").status_code == 200
            finally:
                bot.close()
    finally:
        if redis.poll() is None:
            stop_redis(redis)
