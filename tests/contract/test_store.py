"""One contract suite for the ``Store`` seam, run against SQLite and PostgreSQL alike.

The invariants that need atomicity are tested under real concurrency here, because that is
where the two engines differ (SQLite serializes writers, PostgreSQL locks the Space row).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from majlis.domain.store import Store, StoreConflict
from majlis.store.cursors import BadCursor
from majlis.store.sql import SqlStore
from majlis.store.tables import metadata
from tests.support.store_kit import NOW, Scenario, accounts


def test_migrations_produce_exactly_the_declared_schema(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        assert isinstance(store, SqlStore)
        await store.migrate()  # a second run is a no-op
        async with store.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert diff == []

    make_store(scenario)


def test_handles_are_unique_ignoring_case(make_store: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await store.create_account("Noor", "Noor", "h", NOW)
        with pytest.raises(StoreConflict):
            await store.create_account("nOOR", "x", "h", NOW)
        found = await store.account_by_handle("NOOR")
        assert found is not None and found.handle == "Noor"
        assert found.created_at == NOW and found.created_at.tzinfo is not None

    make_store(scenario)


def test_sessions_are_listed_most_recently_used_first_and_ended_by_id(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        a, b = await accounts(store, "a", "b")
        await store.create_session("d1", "s1", a, NOW)
        await store.create_session("d2", "s2", a, NOW + timedelta(minutes=1))
        await store.create_session("d3", "s3", b, NOW)
        await store.touch_session("d1", NOW + timedelta(hours=1))
        listed = await store.sessions_of(a, 10)
        assert [s.id for s in listed] == ["s1", "s2"]
        assert listed[0].last_used_at == NOW + timedelta(hours=1)
        assert [s.id for s in await store.sessions_of(a, 1)] == ["s1"]
        # One account cannot end another's session, even knowing its id.
        assert await store.delete_session_by_id(a, "s3") is None
        assert await store.delete_session_by_id(a, "s2") == "d2"
        assert await store.delete_session_by_id(a, "s2") is None
        assert [s.id for s in await store.sessions_of(a, 10)] == ["s1"]
        assert await store.session_for_token("d3") is not None

    make_store(scenario)


def test_sessions_and_follows(make_store: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        a, b = await accounts(store, "a", "b")
        await store.create_session("digest", "s1", a, NOW)
        found = await store.session_for_token("digest")
        assert found is not None and found[0].id == a
        assert found[1].id == "s1" and found[1].created_at == found[1].last_used_at == NOW
        assert await store.delete_session("digest")
        assert await store.session_for_token("digest") is None
        assert await store.follow(a, b, NOW) and not await store.follow(a, b, NOW)
        assert await store.followee_ids(a) == {b}
        counted = await store.account_by_handle("b")
        assert counted is not None and counted.followers_count == 1
        assert await store.unfollow(a, b) and not await store.unfollow(a, b)

    make_store(scenario)


def test_followed_among_ranks_the_most_recently_followed_first(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        me, b, c, d, e, stranger = await accounts(store, "me", "b", "c", "d", "e", "stranger")
        for minutes, followee in enumerate((b, c, d, e)):
            await store.follow(me, followee, NOW + timedelta(minutes=minutes))
        await store.follow(stranger, me, NOW)  # followed by, not following: not counted
        found = await store.followed_among(me, [b, d, e, stranger, 999_999], 10)
        assert [a.handle for a in found] == ["e", "d", "b"]
        assert found[0].display_name == "E" and found[0].id == e
        assert [a.id for a in await store.followed_among(me, {b, c, d, e}, 2)] == [e, d]
        assert await store.followed_among(me, [], 10) == []
        assert await store.followed_among(me, [b], 0) == []
        assert await store.followed_among(stranger, [b, c], 10) == []

    make_store(scenario)


def test_transitions_are_checked_atomically(make_store: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        (host,) = await accounts(store, "host")
        await store.create_space("s1", host, "t", "scheduled", NOW + timedelta(hours=1), True, NOW)
        results = await asyncio.gather(
            *(store.transition("s1", ("scheduled",), "live", NOW) for _ in range(6)),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, Exception) for r in results) == 1
        assert all(isinstance(r, StoreConflict) for r in results if isinstance(r, Exception))
        with pytest.raises(StoreConflict):
            await store.transition("missing", ("live",), "ended", NOW)

    make_store(scenario)


def test_the_stage_never_exceeds_its_limits_under_concurrency(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        host, *people = await accounts(store, "host", *(f"p{i}" for i in range(14)))
        await store.create_space("s1", host, "t", "live", None, True, NOW)
        results = await asyncio.gather(
            *(store.put_on_stage("s1", p, "speaker", 2, 10, NOW) for p in people),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(refused) == 4 and all(isinstance(r, StoreConflict) for r in refused)
        space = await store.space("s1")
        assert space is not None
        assert [m.role for m in space.stage].count("speaker") == 10
        assert space.stage[0].role == "host"
        assert all(m.muted for m in space.stage[1:])  # new members arrive muted

    make_store(scenario)


def test_removal_bans_and_clears(make_store: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        host, guest = await accounts(store, "host", "guest")
        await store.create_space("s1", host, "t", "live", None, True, NOW)
        await store.add_request("s1", guest, NOW)
        assert await store.remove_from_space("s1", guest, host, NOW)
        assert not await store.remove_from_space("s1", guest, host, NOW)
        assert await store.requests("s1") == []
        assert await store.banned_ids("s1") == {guest}
        for attempt in (
            store.put_on_stage("s1", guest, "speaker", 2, 10, NOW),
            store.add_request("s1", guest, NOW),
        ):
            with pytest.raises(StoreConflict) as refused:
                await attempt
            assert refused.value.reason == "removed"

    make_store(scenario)


def test_the_host_never_leaves_the_stage(make_store: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        (host,) = await accounts(store, "host")
        await store.create_space("s1", host, "t", "live", None, True, NOW)
        assert not await store.leave_stage("s1", host)
        with pytest.raises(StoreConflict):
            await store.put_on_stage("s1", host, "speaker", 2, 10, NOW)

    make_store(scenario)


def test_listing_pages_are_stable_and_cursors_are_checked(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        (host,) = await accounts(store, "host")
        for i in range(7):
            # Equal start times on purpose: the id breaks ties, so no page repeats or skips.
            await store.create_space(
                f"s{i}", host, "t", "scheduled", NOW + timedelta(hours=1), True, NOW
            )
        seen: list[str] = []
        cursor = None
        while True:
            page = await store.list_spaces("scheduled", cursor, 3)
            seen += [s.id for s in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == sorted(f"s{i}" for i in range(7))
        with pytest.raises(BadCursor):
            await store.list_spaces("scheduled", "not-a-cursor", 3)

    make_store(scenario)


def test_listing_one_hosts_spaces_pages_through_theirs_only(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        host, other = await accounts(store, "host", "other")
        for i in range(5):
            for who in (host, other):
                await store.create_space(
                    f"{who}-{i}", who, "t", "scheduled", NOW + timedelta(hours=i), True, NOW
                )
        seen: list[str] = []
        cursor = None
        while True:
            page = await store.list_spaces("scheduled", cursor, 2, host_id=host)
            seen += [s.id for s in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [f"{host}-{i}" for i in range(5)]  # soonest first, none of the other's
        assert (await store.list_spaces("live", None, 10, host_id=host)).items == []

    make_store(scenario)


def test_the_notifications_seen_mark_only_moves_forward(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        reader, other = await accounts(store, "reader", "other")
        assert await store.notifications_seen_at(reader) is None
        later = NOW + timedelta(minutes=5)
        assert await store.mark_notifications_seen(reader, later) == later
        assert await store.mark_notifications_seen(reader, NOW) == later  # never back
        assert await store.notifications_seen_at(reader) == later
        assert await store.notifications_seen_at(other) is None  # one account's mark

    make_store(scenario)


def test_derived_notices_follow_follows_and_reminders(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        me, host, late_fan = await accounts(store, "me", "host", "late")
        await store.follow(me, host, NOW - timedelta(days=1))
        await store.create_space("s1", host, "t", "scheduled", NOW + timedelta(hours=1), True, NOW)
        await store.transition("s1", ("scheduled",), "live", NOW)
        await store.follow(late_fan, host, NOW + timedelta(minutes=5))
        await store.add_notification(me, "follow", None, late_fan, NOW + timedelta(minutes=1))
        page = await store.notifications(me, None, 10)
        assert [(n.kind, n.id) for n in page.items] == [
            ("follow", page.items[0].id),
            ("live", "live-s1"),
        ]
        # Following after the start does not produce a "went live" notice in the past.
        assert (await store.notifications(late_fan, None, 10)).items == []

    make_store(scenario)


def test_comments_page_newest_first_and_one_is_pinned(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        host, fan = await accounts(store, "host", "fan")
        await store.create_space("s1", host, "t", "live", None, True, NOW)
        for i in range(5):  # equal times on purpose: the id breaks ties
            await store.add_comment(f"c{i}", "s1", fan if i % 2 else host, f"say {i}", NOW)
        seen: list[str] = []
        cursor = None
        while True:
            page = await store.comments("s1", cursor, 2)
            seen += [c.id for c in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == ["c4", "c3", "c2", "c1", "c0"]
        with pytest.raises(StoreConflict):
            await store.pin_comment("s1", "missing")
        await store.pin_comment("s1", "c1")
        pinned = await store.pinned_comment("s1")
        assert pinned is not None and pinned.id == "c1" and pinned.account.handle == "fan"
        assert await store.delete_comment("s1", "c1")  # deleting the pinned one unpins it
        assert await store.pinned_comment("s1") is None
        assert not await store.delete_comment("s1", "c1")
        assert await store.comment("s1", "c1") is None

    make_store(scenario)


def test_a_link_is_pinned_until_the_end_and_requests_are_known(
    make_store: Callable[[Scenario], None],
) -> None:
    from majlis.domain.model import PinnedLink

    async def scenario(store: Store) -> None:
        host, fan = await accounts(store, "host", "fan")
        await store.create_space("s1", host, "t", "live", None, True, NOW)
        space = await store.set_link("s1", PinnedLink("https://example.org/a", "A"))
        assert space.link == PinnedLink("https://example.org/a", "A")
        assert (await store.set_link("s1", None)).link is None
        assert not await store.has_request("s1", fan)
        await store.add_request("s1", fan, NOW)
        assert await store.has_request("s1", fan)
        await store.transition("s1", ("live",), "ended", NOW)
        with pytest.raises(StoreConflict):
            await store.set_link("s1", PinnedLink("https://example.org/b", "B"))

    make_store(scenario)


def test_clips_are_listed_newest_first_and_deleted(make_store: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        host, fan = await accounts(store, "host", "fan")
        await store.create_space("s1", host, "t", "live", None, True, NOW)
        assert (await store.space("s1")).clips_allowed is True  # type: ignore[union-attr]
        assert (await store.set_clips_allowed("s1", False)).clips_allowed is False
        for i in range(3):
            await store.add_clip(f"k{i}", "s1", fan, 10.0 * i, 30.0, NOW + timedelta(seconds=i))
        page = await store.clips("s1", None, 2)
        assert [c.id for c in page.items] == ["k2", "k1"] and page.next_cursor is not None
        rest = await store.clips("s1", page.next_cursor, 2)
        assert [c.id for c in rest.items] == ["k0"] and rest.next_cursor is None
        clip = await store.clip("k1")
        assert clip is not None and (clip.start, clip.duration) == (10.0, 30.0)
        assert clip.account.handle == "fan" and clip.space_id == "s1"
        assert await store.delete_clip("k1") and not await store.delete_clip("k1")
        assert await store.clip("k1") is None
        with pytest.raises(BadCursor):
            await store.clips("s1", "not-a-cursor", 2)

    make_store(scenario)
