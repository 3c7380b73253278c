"""The transcript part of the ``Store`` contract, on SQLite and PostgreSQL alike: cues kept and
read in the order said, by window and newest, deleted; and search by what was said, folded the
Arabic-aware way (issue 16's index, which the search of issue 17 plugs into)."""

from __future__ import annotations

from collections.abc import Callable

from majlis.domain.store import Store
from tests.support.store_kit import NOW, Scenario, accounts


async def _space(store: Store, space_id: str, host: int) -> str:
    await store.create_space(space_id, host, f"Space {space_id}", "live", None, True, NOW)
    return space_id


def test_cues_in_the_order_said_by_window_and_newest(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        (host,) = await accounts(store, "host")
        sid = await _space(store, "s1", host)
        for start, text in ((3.0, "three"), (1.0, "one"), (2.0, "two")):
            await store.add_cue(sid, host, start, start + 0.5, text, "en")
        assert [c.text for c in await store.cues(sid)] == ["one", "two", "three"]
        assert [c.text for c in await store.cues_between(sid, 1.0, 3.0)] == ["one", "two"]
        assert [c.text for c in await store.latest_cues(sid, 2)] == ["one", "two"]  # by id
        assert (await store.cues(sid))[0].speaker.handle == "host"
        assert await store.delete_cues(sid) == 3
        assert await store.cues(sid) == []

    make_store(scenario)


def test_search_by_what_was_said_folds_arabic_and_case(
    make_store: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        (host,) = await accounts(store, "host")
        islam = await _space(store, "s-islam", host)
        school = await _space(store, "s-school", host)
        english = await _space(store, "s-english", host)
        await store.add_cue(islam, host, 1.0, 2.0, "تاريخ الإسلام في الأندلس", "ar")
        await store.add_cue(islam, host, 3.0, 4.0, "الإسلام والعلم", "ar")
        await store.add_cue(school, host, 1.0, 2.0, "ذَهَبَ إلى المَدْرَسَةِ ثم المستشفى", "ar")
        await store.add_cue(english, host, 1.0, 2.0, "Offline-first apps, 100% of the time_", "en")

        async def found(query: str) -> list[str]:
            return [hit.space_id for hit in await store.search_transcripts(query, 10)]

        # Hamza forms of alef, with or without tashkeel, teh marbuta and alef maqsura folded.
        assert await found("اسلام") == [islam]
        assert await found("إسلام") == [islam]
        hits = await store.search_transcripts("الاسلام", 10)
        assert (hits[0].hits, hits[0].first.start) == (2, 1.0)
        assert await found("مدرسة") == [school]
        assert await found("مستشفي") == [school]
        assert await found("المدرسه المستشفى") == [school]  # every word, in one cue
        assert await found("مدرسة الأندلس") == []
        # English: case folded, a prefix matches, LIKE's wildcards are just characters.
        assert await found("OFFLINE apps") == [english]
        assert await found("100") == [english]
        assert await found("%") == [] and await found("_") == [] and await found("") == []

    make_store(scenario)
