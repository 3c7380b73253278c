"""Property tests for the code that parses bytes a stranger sent: cursors, listener ids, bodies."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from majlis.api.schemas import NewSpace
from majlis.security.listener_ids import MAX_LENGTH, ListenerIds
from majlis.security.stream_tickets import TTL_S as TICKET_TTL_S
from majlis.security.stream_tickets import StreamTickets
from majlis.store.cursors import BadCursor, decode_cursor, encode_cursor
from tests.support.client import Api, problem_of, settled
from tests.support.server import RunningServer

#: End the Spaces a test left live (``end_live_spaces``, tests/conftest.py).
pytestmark = pytest.mark.usefixtures("end_live_spaces")

PURE = settings(max_examples=400, deadline=None, derandomize=True, database=None)
LIVE = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _dumps(value: object) -> bytes:
    """JSON as any client might send it: integers of any size, lone surrogates escaped."""
    return json.dumps(value).encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=8,
)

#: Text shaped like cursors in ever-closer ways: anything, base64 of bytes, base64 of JSON, and
#: base64 of two-string arrays whose first string may or may not be a timestamp.
cursor_like = st.one_of(
    st.text(max_size=250),
    st.binary(max_size=150).map(_b64),
    json_values.map(lambda v: _b64(_dumps(v))),
    st.tuples(
        st.one_of(
            st.text(max_size=40),
            st.datetimes(timezones=st.none() | st.timezones()).map(datetime.isoformat),
        ),
        st.text(max_size=40),
    ).map(lambda pair: _b64(_dumps(list(pair)))),
)


@PURE
@given(cursor_like)
@example("")
@example("=")
@example("مجلس")
@example("\ud800")
@example(_b64(b'["2024-01-01T00:00:00+00:00"]'))
@example(_b64(b'{"a": "2024-01-01T00:00:00+00:00", "b": "x"}'))
def test_decode_cursor_raises_only_bad_cursor(cursor: str) -> None:
    try:
        at, tie = decode_cursor(cursor)
    except BadCursor:
        return
    assert isinstance(at, datetime) and at.tzinfo is not None
    assert isinstance(tie, str)


@PURE
@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    # What the server issues: Space ids and notice ids, never empty.
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
        min_size=1,
        max_size=16,
    ),
)
def test_cursors_round_trip(at: datetime, tie: str) -> None:
    assert decode_cursor(encode_cursor(at, tie)) == (at, tie)


IDS = ListenerIds("a secret for the tests")
SPACE = "AbCdEfGhIjKl"
ANONYMOUS = [IDS.issue(SPACE) for _ in range(3)]
SIGNED_IN = {IDS.issue(SPACE, account): account for account in (1, 7, 7, 2**63 - 1)}
ISSUED = ANONYMOUS + list(SIGNED_IN)


@PURE
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=80))
@example("")
@example(".")
@example("a.b")
@example(ISSUED[0] + "x")
@example(ISSUED[0].upper())
@example(ISSUED[0].split(".")[0] + ".")
@example(ISSUED[-1].replace(".", "..", 1))
@example(".".join(ISSUED[-1].split(".")[::2]))  # a signed-in id without its account
@example(ISSUED[0].replace(".", "." + ISSUED[-1].split(".")[1] + "."))  # an account grafted on
def test_listener_id_verify_refuses_ascii_it_did_not_issue(candidate: str) -> None:
    assert IDS.verify(SPACE, candidate) is (candidate in ISSUED)


def test_listener_ids_verify_only_for_their_space() -> None:
    for issued in ISSUED:
        assert IDS.verify(SPACE, issued) is True
        assert IDS.verify("OtherSpace01", issued) is False
        assert ListenerIds("another secret").verify(SPACE, issued) is False


def test_a_signed_in_listener_id_carries_its_account_sealed() -> None:
    """Heartbeats carry only the id: it says who is listening, without showing the account id
    (two ids of one account share nothing), and anonymous ids stay anonymous."""
    for issued in ANONYMOUS:
        found = IDS.identify(SPACE, issued)
        assert found is not None and found.account_id is None
    for issued, account in SIGNED_IN.items():
        found = IDS.identify(SPACE, issued)
        assert found is not None and found.account_id == account
        assert len(issued) <= MAX_LENGTH
        assert IDS.identify("OtherSpace01", issued) is None
    sevens = [issued.split(".")[1] for issued, account in SIGNED_IN.items() if account == 7]
    assert len(sevens) == 2 and sevens[0] != sevens[1]
    nonce, sealed, mac = ISSUED[-1].split(".")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    assert IDS.identify(SPACE, f"{nonce}.{flipped}.{mac}") is None


@PURE
@given(st.text(max_size=80))
@example("a.é")
def test_listener_id_verify_never_raises_and_refuses_what_it_did_not_issue(
    candidate: str,
) -> None:
    assert IDS.verify(SPACE, candidate) is (candidate in ISSUED)


TICKETS = StreamTickets("a secret of at least thirty-two bytes, for tests")
TICKET = TICKETS.issue(42, "s3ss10n", now=1_000_000)


def test_a_stream_ticket_opens_only_what_it_was_issued_for_until_it_expires() -> None:
    found = TICKETS.verify(TICKET, now=1_000_000 + TICKET_TTL_S)
    assert found is not None and (found.account_id, found.session_id) == (42, "s3ss10n")
    assert TICKETS.verify(TICKET, now=1_000_000 + TICKET_TTL_S + 1) is None  # expired
    assert StreamTickets("another secret, also thirty-two bytes long").verify(TICKET, 0) is None
    account, session, expires, nonce, mac = TICKET.split(".")
    for forged in (
        f"43.{session}.{expires}.{nonce}.{mac}",  # someone else's account
        f"{account}.other.{expires}.{nonce}.{mac}",  # another session
        f"{account}.{session}.{int(expires) + 3600}.{nonce}.{mac}",  # a longer life
        f"{account}.{session}.{expires}.{nonce}x.{mac}",  # another nonce (spent once already)
    ):
        assert TICKETS.verify(forged, now=1_000_000) is None
    assert TICKETS.issue(42, "s3ss10n", now=1_000_000) != TICKET  # a nonce of its own each time


@PURE
@given(st.text(max_size=220))
@example(TICKET.upper())
@example(TICKET + ".")
@example("1.a.9999999999.n.é")
def test_stream_ticket_verify_never_raises_and_refuses_what_it_did_not_issue(
    candidate: str,
) -> None:
    assert (TICKETS.verify(candidate, now=1_000_000) is None) is (candidate != TICKET)


# --- arbitrary bytes as a JSON body, against the live server ----------------------------------

bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(_dumps),
    st.dictionaries(
        st.sampled_from(["title", "record", "scheduled_start", "extra"]), json_values, max_size=4
    ).map(_dumps),
    # Valid-looking bodies cut short or with a byte flipped.
    st.tuples(
        st.text(max_size=150).map(lambda t: _dumps({"title": t})),
        st.integers(0, 200),
        st.integers(0, 255),
    ).map(lambda x: x[0][: x[1]] + bytes([x[2]]) + x[0][x[1] + 1 :]),
)


def test_arbitrary_bytes_as_a_space_body_are_never_a_server_error(server: RunningServer) -> None:
    api = Api(server.base_url)
    host = api.sign_up("bytes")
    host.create_space("Already live")  # so a body that happens to be valid cannot go live
    http = httpx.Client(base_url=server.base_url, timeout=10, headers=host.headers)
    created: list[str] = []

    @LIVE
    @given(bodies)
    @example(b"")
    @example(b"\x00")
    @example(b"\xef\xbb\xbf{}")
    @example(b"[" * 5000)
    @example(b'{"title": "\\ud800"}')
    @example(b'{"title": "x", "scheduled_start": "9999-12-31T23:59:59-23:59"}')
    def post(raw: bytes) -> None:
        response = settled(
            http.post("/api/v1/spaces", content=raw, headers={"Content-Type": "application/json"})
        )
        assert response.status_code < 500, (raw, response.status_code, response.text)
        if response.status_code >= 400:
            problem_of(response, response.status_code)
        else:
            # Only a body that is a valid request may change anything.
            NewSpace.model_validate(json.loads(raw))
            created.append(response.json()["id"])

    try:
        post()
    finally:
        http.close()
        api.close()
    assert len(created) <= 20  # scheduled Spaces, up to the per-host limit
