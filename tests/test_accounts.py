"""Accounts, sessions and follows (API.md "Accounts and reach")."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import select

from majlis.store import tables
from tests.support.client import PASSWORD, Api, problem_of
from tests.support.server import RunningServer, query, run_server


def test_sign_up_returns_the_account_with_counts(api: Api) -> None:
    handle = "Sara_" + secrets.token_hex(4)
    response = api.http.post(
        "/api/v1/accounts",
        json={"handle": handle, "password": PASSWORD, "display_name": "سارة Sara"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["handle"] == handle
    assert body["display_name"] == "سارة Sara"
    assert body["followers_count"] == 0 and body["following_count"] == 0
    assert "password" not in response.text and "hash" not in response.text
    assert "+00:00" in body["created_at"]


def test_handles_are_unique_ignoring_case(api: Api) -> None:
    user = api.sign_up("dup")
    response = api.http.post(
        "/api/v1/accounts",
        json={"handle": user.handle.upper(), "password": PASSWORD, "display_name": "x"},
    )
    problem_of(response, 409)


def test_short_password_is_refused(api: Api) -> None:
    response = api.http.post(
        "/api/v1/accounts",
        json={
            "handle": "short_" + secrets.token_hex(3),
            "password": "1234567",
            "display_name": "x",
        },
    )
    assert "password" in problem_of(response, 422)["detail"]


def test_sign_in_is_case_insensitive_and_wrong_passwords_fail_alike(api: Api) -> None:
    user = api.sign_up("login")
    again = api.sign_in(user.handle.upper())
    assert again.token != user.token
    wrong = api.http.post("/api/v1/sessions", json={"handle": user.handle, "password": "nope"})
    unknown = api.http.post("/api/v1/sessions", json={"handle": "no_such_user", "password": "x"})
    assert problem_of(wrong, 401)["detail"] == problem_of(unknown, 401)["detail"]


def test_sign_in_returns_the_account(api: Api) -> None:
    user = api.sign_up("who")
    response = api.http.post("/api/v1/sessions", json={"handle": user.handle, "password": PASSWORD})
    assert response.json()["account"]["handle"] == user.handle


def test_signing_out_revokes_the_token_at_once(api: Api) -> None:
    user = api.sign_up("bye")
    other = api.sign_up("other")
    assert user.post(f"/api/v1/accounts/{other.handle}/follow").status_code == 204
    assert user.delete("/api/v1/sessions/current").status_code == 204
    problem_of(user.post(f"/api/v1/accounts/{other.handle}/follow"), 401)
    problem_of(user.delete("/api/v1/sessions/current"), 401)


def test_tokens_are_stored_only_as_hashes(api: Api, server: RunningServer) -> None:
    user = api.sign_up("hashed")
    hashes = query(server, select(tables.sessions.c.token_hash))
    assert hashes and user.token not in hashes
    assert all(len(h) == 64 for h in hashes)


def test_get_account_shows_follow_counts(api: Api) -> None:
    a, b, c = api.sign_up("a"), api.sign_up("b"), api.sign_up("c")
    a.follow(b)
    c.follow(b)
    b.follow(a)
    body = api.http.get(f"/api/v1/accounts/{b.handle}").json()
    assert (body["followers_count"], body["following_count"]) == (2, 1)
    problem_of(api.http.get("/api/v1/accounts/nobody_here_at_all"), 404)


def test_follow_is_idempotent_and_unfollow_undoes_it(api: Api) -> None:
    a, b = api.sign_up("fa"), api.sign_up("fb")
    a.follow(b)
    a.follow(b)
    assert api.http.get(f"/api/v1/accounts/{b.handle}").json()["followers_count"] == 1
    assert a.delete(f"/api/v1/accounts/{b.handle}/follow").status_code == 204
    assert a.delete(f"/api/v1/accounts/{b.handle}/follow").status_code == 204
    assert api.http.get(f"/api/v1/accounts/{b.handle}").json()["followers_count"] == 0


def test_follow_rules(api: Api) -> None:
    a = api.sign_up("self")
    problem_of(a.post(f"/api/v1/accounts/{a.handle}/follow"), 422)
    problem_of(a.post("/api/v1/accounts/ghost_account_x/follow"), 404)
    problem_of(api.http.post(f"/api/v1/accounts/{a.handle}/follow"), 401)
    assert api.http.get(f"/api/v1/accounts/{a.handle}").json()["following_count"] == 0


def test_sign_in_is_rate_limited_per_handle_and_address(tmp_path: Path) -> None:
    with run_server(
        tmp_path, signin_per_handle_per_min=3, trusted_proxies="127.0.0.1/32"
    ) as server:
        api = Api(server.base_url)
        user = api.sign_up("limited")
        statuses = [
            api.http.post(
                "/api/v1/sessions", json={"handle": user.handle, "password": "wrong"}
            ).status_code
            for _ in range(2)
        ]
        assert statuses == [401, 401]  # sign_up's own sign-in spent the first unit
        limited = api.http.post(
            "/api/v1/sessions", json={"handle": user.handle, "password": PASSWORD}
        )
        problem_of(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        # Another handle from the same address is unaffected...
        other = api.sign_up("unaffected")
        assert other.token
        # ...and so is the owner, signing in from elsewhere (issue 14: the guesser used to
        # lock the owner out of their own account for a minute).
        owner = api.http.post(
            "/api/v1/sessions",
            json={"handle": user.handle, "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.7"},
        )
        assert owner.status_code in (200, 201), owner.text
        api.close()
