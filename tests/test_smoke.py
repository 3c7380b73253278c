from tests.support.client import Api


def test_a_user_hosts_a_live_space_and_a_listener_joins(api: Api) -> None:
    host = api.sign_up("host")
    space = host.create_space("مجلس الليلة · Tonight's majlis")
    assert space["state"] == "live"
    join = api.http.post(f"/api/v1/spaces/{space['id']}/join")
    assert join.status_code == 200
    assert join.json()["hls_url"].endswith(f"/hls/{space['id']}/live.m3u8")
    assert api.space(space["id"])["listener_count"] == 1
