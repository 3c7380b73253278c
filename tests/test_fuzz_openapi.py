"""Schemathesis against the live server, driven by the server's own ``GET /openapi.json``.

Each operation gets valid and invalid requests generated from its schema, half of them aimed at
real things (a signed-in account, its live Space, another account's handle, an issued listener
id) so they get past the 401/404 front door. Whatever is sent, the answer is never a server
error (a 503 with Retry-After is load shedding, not an error) and every error is a problem.

The two Server-Sent-Events endpoints stream until the client leaves, so they are not fuzzed;
their refusals are checked directly below.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.failures import AcceptedNegativeData, Failure, FailureGroup

from majlis.app import create_app
from majlis.config import Settings
from majlis.media.teaser import TEASER_TYPES
from tests.support.client import Api, problem_of, settled
from tests.support.server import RunningServer

#: End the Spaces a test left live (``end_live_spaces``, tests/conftest.py).
pytestmark = pytest.mark.usefixtures("end_live_spaces")

STREAMS = {"GET /api/v1/spaces/{space_id}/events", "GET /api/v1/notifications/stream"}

#: The operations, read from the app at collection time so each gets its own test; the served
#: document is checked to list exactly these (``test_the_served_document_lists_them_all``).
_DOCUMENT = create_app(Settings()).openapi()
OPERATIONS = sorted(
    f"{method.upper()} {path}" for path, ops in _DOCUMENT["paths"].items() for method in ops
)
FUZZED = [label for label in OPERATIONS if label not in STREAMS]

#: Per operation and engine; raise it for a deeper run (MAJLIS_FUZZ_EXAMPLES=1000).
EXAMPLES = int(os.environ.get("MAJLIS_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@schemathesis.serializer(*TEASER_TYPES, "application/sdp")
def _raw_body(_ctx: schemathesis.SerializationContext, value: object) -> bytes:
    """Teaser uploads (audio) and WHIP offers (SDP) are raw bodies: whatever was generated goes
    out as bytes, so the SDP parser is fuzzed along with everything else."""
    return value if isinstance(value, bytes) else str(value).encode()


@pytest.fixture(scope="module")
def schema(server: RunningServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", timeout=10)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def test_the_served_document_lists_them_all(schema: schemathesis.BaseSchema) -> None:
    served = sorted(
        f"{method.upper()} {path}"
        for path, ops in schema.raw_schema["paths"].items()
        for method in ops
    )
    assert served == OPERATIONS
    assert set(served) >= STREAMS


#: Operations whose schema-valid input may still be refused, as no schema can say which values
#: are valid: an opaque page cursor (only a previous page's ``next_cursor`` is), an SDP offer
#: (only a real one is), a start time (only one within the next 14 days, which moves with the
#: clock), a clip range (end after start, at most 60 s apart: relations between two fields).
#: Their refusal is still checked to be a problem below; the rules themselves have their own
#: tests (test_spaces.py, test_clips.py, tests/media/).
OPAQUE_INPUT = {"POST /api/v1/spaces/{space_id}/whip", "POST /api/v1/spaces/{space_id}/clips"}


def _opaque(case: Case) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    return (
        case.operation.label in OPAQUE_INPUT
        or "cursor" in (case.query or {})
        or body.get("scheduled_start") is not None
    )


#: Ways a negative case is not negative here: unknown query parameters are ignored by design
#: (docs/api.md "Conventions"), and a case sent signed in carries the Authorization header the
#: generator left out.
_NOT_INVALID = "query: violates `additionalProperties`"
_TOKEN_ADDED = "header: violates `required` (was Authorization)"


def _excused(failure: Failure, signed_in: bool) -> bool:
    if not isinstance(failure, AcceptedNegativeData):
        return False
    excused = {_NOT_INVALID, _TOKEN_ADDED} if signed_in else {_NOT_INVALID}
    reasons = [
        line.strip().removeprefix("- ")
        for line in failure.message.splitlines()
        if line.strip().startswith("- ")
    ]
    return bool(reasons) and all(reason in excused for reason in reasons)


def _check(case: Case, response: schemathesis.Response, signed_in: bool) -> None:
    """Every schemathesis check (conformance of status, headers, content type and body to the
    document; valid input accepted, invalid refused; no server error; authentication), and
    every error a problem."""
    status = response.status_code
    if status >= 500:
        settled(_as_httpx(response))
    if status == 503:
        assert response.headers.get("retry-after"), "a 503 must say when to come back"
    else:
        excluded = [positive_data_acceptance] if _opaque(case) else []
        try:
            case.validate_response(response, excluded_checks=excluded)
        except FailureGroup as found:
            left = [f for f in found.exceptions if not _excused(f, signed_in)]
            if left:
                raise FailureGroup(left, str(found)) from None
    if status >= 400:
        problem_of(_as_httpx(response), status)


def _as_httpx(response: schemathesis.Response) -> httpx.Response:
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    return httpx.Response(response.status_code, headers=headers, content=response.content)


@dataclass(frozen=True)
class Drawn:
    """A case Hypothesis drew, and the real ids it was aimed at (see ``DRAWN``)."""

    case: Case
    signed_in: bool
    real: dict[str, str]


#: Per operation, the cases drawn for the first deployment shape it ran on; the other shape is
#: sent the same cases, aimed at its own real ids. Drawing is most of the fuzz's cost (~60%:
#: schema-driven strategies), and the draws would be the same again (``derandomize``) but for
#: a few pooled constant strings; every case is still sent to, and checked on, both shapes.
DRAWN: dict[str, list[Drawn]] = {}


def _aimed_here(drawn: Drawn, real: dict[str, str]) -> Case:
    """The drawn case with the ids of the shape it was drawn on replaced by this one's."""
    here = {drawn.real[k]: real[k] for k in real}
    case = drawn.case

    def swap(values: dict[str, Any] | None) -> dict[str, Any] | None:
        if values is None:
            return None
        return {k: here.get(v, v) if isinstance(v, str) else v for k, v in values.items()}

    return Case(
        operation=case.operation,
        method=case.method,
        path=case.path,
        path_parameters=swap(case.path_parameters),
        headers=case.headers.copy() if case.headers is not None else None,
        cookies=dict(case.cookies) if case.cookies is not None else None,
        query=swap(case.query),
        body=case.body,
        media_type=case.media_type,
        multipart_content_types=case.multipart_content_types,
        meta=case.meta,
    )


@pytest.mark.parametrize("label", FUZZED)
def test_operation_never_fails_on_the_server(
    label: str,
    schema: schemathesis.BaseSchema,
    server: RunningServer,
    api: Api,
    session: requests.Session,
) -> None:
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    host = api.sign_up("fz")
    speaker = api.sign_up("fzs")
    asker = api.sign_up("fza")
    space_id = host.create_space("Fuzzed")["id"]
    listener = api.http.post(f"/api/v1/spaces/{space_id}/join").json()["listener_id"]
    for user in (speaker, asker):
        assert user.post(f"/api/v1/spaces/{space_id}/requests").status_code == 201
    on_stage = host.put(
        f"/api/v1/spaces/{space_id}/stage/{speaker.handle}", json={"role": "speaker"}
    )
    assert on_stage.status_code == 200, on_stage.text

    names = {p.name for p in operation.path_parameters}
    who = asker if "/requests/" in label else speaker
    real = {"space_id": space_id, "handle": who.handle}
    fixed_path = {k: v for k, v in real.items() if k in names} or None
    fixed_query = {"listener": listener} if label.endswith("/heartbeat") else None

    aimed = st.one_of(
        operation.as_strategy(
            GenerationMode.POSITIVE, path_parameters=fixed_path, query=fixed_query
        ),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed_path),
    )
    anywhere = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    # (case, send the host's token?)
    cases = st.one_of(st.tuples(aimed, st.just(True)), st.tuples(anywhere, st.booleans()))
    signs_out = label == "DELETE /api/v1/sessions/current"

    def send(case: Case, signed_in: bool) -> None:
        headers: dict[str, Any] | None = None
        if signed_in:
            token = api.sign_up("fzo").token if signs_out else host.token
            headers = {"Authorization": f"Bearer {token}"}
        response = case.call(base_url=server.base_url, session=session, headers=headers, timeout=10)
        _check(case, response, signed_in)

    ids = {"space_id": space_id, "handle": who.handle, "listener": listener}
    if label in DRAWN:
        for drawn in DRAWN[label]:
            case = _aimed_here(drawn, ids)
            try:
                send(case, drawn.signed_in)
            except AssertionError as failure:  # Hypothesis is not there to show the case
                failure.add_note(f"the case (drawn on the other shape): {case!r}")
                raise
        return
    sent: list[Drawn] = []

    @FUZZ
    @given(cases)
    def run(drawn: tuple[Case, bool]) -> None:
        case, signed_in = drawn
        send(case, signed_in)
        sent.append(Drawn(case, signed_in, ids))

    run()
    DRAWN[label] = sent


# --- the event streams, which are not fuzzed --------------------------------------------------


@pytest.mark.parametrize("space_id", ["nope", "AAAAAAAAAAAA", "a" * 300, "مجلس"])
def test_space_events_for_an_unknown_space_is_404(api: Api, space_id: str) -> None:
    problem_of(api.http.get(f"/api/v1/spaces/{space_id}/events"), 404)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer forged"}, {"Authorization": "Basic x"}],
    ids=["none", "forged", "basic"],
)
def test_notification_stream_without_a_valid_token_is_401(
    api: Api, headers: dict[str, str]
) -> None:
    response = api.http.get("/api/v1/notifications/stream", headers=headers)
    problem_of(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    forged = api.http.get("/api/v1/notifications/stream", params={"ticket": "forged"})
    problem_of(forged, 401)


def test_the_event_streams_do_open_for_the_right_caller(api: Api) -> None:
    """The control for the refusals above: the same requests, done right, start a stream."""
    host = api.sign_up("sse")
    space_id = host.create_space("Streaming")["id"]
    with api.http.stream("GET", f"/api/v1/spaces/{space_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
    ticket = host.post("/api/v1/stream-tickets").json()["ticket"]
    with api.http.stream(
        "GET", "/api/v1/notifications/stream", params={"ticket": ticket}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
    with (
        httpx.Client(base_url=api.base_url, timeout=10, headers=host.headers) as http,
        http.stream("GET", "/api/v1/notifications/stream") as response,
    ):
        assert response.status_code == 200


def test_openapi_documents_errors_as_problem_json(api: Api) -> None:
    document = api.http.get("/openapi.json").json()
    error_media_types = {
        media_type
        for operations in document["paths"].values()
        for operation in operations.values()
        for status, response in operation["responses"].items()
        if status.isdigit() and int(status) >= 400
        for media_type in response.get("content", {})
    }
    assert error_media_types == {"application/problem+json"}
