"""``GET /metrics``: the contract's names, with values that move with real traffic.

The metrics live in the process-wide registry and the test servers share this process, so the
assertions compare values before and after the traffic, never absolute counts.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support.client import Api, wait_for_live_stream
from tests.support.wait import eventually

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

CONTRACT = (
    "majlis_http_requests_total",
    "majlis_http_request_duration_seconds_bucket",
    "majlis_admission_total",
    "majlis_inflight_requests",
    "majlis_inflight_limit",
    "majlis_joins_total",
    "majlis_heartbeats_total",
    "majlis_active_listeners",
    "majlis_live_spaces",
    "majlis_hls_parts_published_total",
    "majlis_part_publish_lag_seconds_count",
    "majlis_mixer_lag_seconds_count",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
)


def scrape(api: Api) -> Samples:
    response = api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_follow_real_traffic(api: Api) -> None:
    space_id = api.sign_up("metrics").create_space()["id"]
    wait_for_live_stream(api.http, space_id)  # its room is open: it counts in the gauges
    before = scrape(api)
    joined = api.http.post(f"/api/v1/spaces/{space_id}/join").json()
    assert api.http.post(joined["heartbeat_url"]).status_code == 204
    assert api.http.get("/no/such/page").status_code == 404
    published_before = value(before, "majlis_hls_parts_published_total")

    def published_parts() -> Samples | None:
        # The Space's encoder publishes a part every 0.256 s once it runs.
        samples = scrape(api)
        parts = value(samples, "majlis_hls_parts_published_total")
        return samples if parts > published_before + 2 else None

    after = eventually(published_parts, message="no parts were published")

    for name in CONTRACT:
        assert any(key[0] == name for key in after), f"{name} is missing"
    assert value(after, "majlis_joins_total") >= value(before, "majlis_joins_total") + 1
    assert value(after, "majlis_heartbeats_total") >= value(before, "majlis_heartbeats_total") + 1
    join_route = {"route": "/api/v1/spaces/{space_id}/join", "method": "POST", "status": "200"}
    assert value(after, "majlis_http_requests_total", **join_route) >= 1 + value(
        before, "majlis_http_requests_total", **join_route
    )
    other = {"route": "other", "method": "GET", "status": "404"}
    assert value(after, "majlis_http_requests_total", **other) > value(
        before, "majlis_http_requests_total", **other
    )
    assert not any("/no/such" in str(key) for key in after), "raw paths must never be labels"
    assert value(after, "majlis_active_listeners", space_id=space_id) >= 1
    assert value(after, "majlis_live_spaces") >= 1
    assert value(after, "majlis_part_publish_lag_seconds_count") > 0
    assert (
        0
        < value(after, "majlis_part_publish_lag_seconds_sum")
        / value(after, "majlis_part_publish_lag_seconds_count")
        < 2.0
    )
    assert value(after, "majlis_mixer_lag_seconds_count") > 0
    assert value(after, "majlis_admission_total", outcome="admitted") > value(
        before, "majlis_admission_total", outcome="admitted"
    )
    assert value(after, "majlis_inflight_limit") >= 1
    assert value(after, "process_resident_memory_bytes") > 10_000_000


def test_join_latency_is_recorded_under_its_route(api: Api) -> None:
    space_id = api.sign_up("latency").create_space()["id"]
    count = "majlis_http_request_duration_seconds_count"
    route = "/api/v1/spaces/{space_id}/join"
    before = value(scrape(api), count, route=route)
    for _ in range(3):
        assert api.http.post(f"/api/v1/spaces/{space_id}/join").status_code == 200
    # /metrics renders at most once a second: the joins show in the next rendering.
    eventually(lambda: value(scrape(api), count, route=route) >= before + 3)
