"""The origin's ``/metrics`` (Prometheus text), read while the rehearsal runs.

Request amplification is the figure an edge exists for: how many origin requests each
published part (LL-HLS) or segment (LL-DASH) costs. We read ``majlis_http_requests_total``
(labelled by route *template*) and ``majlis_hls_parts_published_total`` before, during and
after the run and divide the deltas. That counter counts the AAC stream's parts; the DASH
renditions are cut from streams fed the same audio, so the segments a rendition published are
the seconds those parts hold over the rendition's segment duration (``SEGMENT_S``): parts / 8
for AAC, whose segments are 8 of those parts, parts x 0.256 / 1.92 for Opus. The route counts
every rendition's segment requests: the listeners of a run all play one. The process's resident
memory gives the origin's peak RSS.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

PLAYLIST_ROUTE = "/hls/{space_id}/live.m3u8"
PART_ROUTE = "/hls/{space_id}/{name}"
JOIN_ROUTE = "/api/v1/spaces/{space_id}/join"
MPD_ROUTE = "/dash/{space_id}/live.mpd"
SEGMENT_ROUTE = "/dash/{space_id}/{rendition}/{name}"
#: Seconds in a part of the AAC stream (the parts ``majlis_hls_parts_published_total`` counts)
#: and in a segment of each DASH rendition, by its id: ``majlis.media.program``'s (12 AAC frames
#: a part, 8 parts a segment; 24 Opus frames of 20 ms a part, 4 a segment; a test checks them).
PART_S = 0.256
SEGMENT_S = {"aac": 8 * PART_S, "opus": 4 * 0.48}


@dataclass(frozen=True)
class Reading:
    at: float
    parts_published: float
    playlist_requests: float
    part_requests: float
    other_hls_requests: float
    admitted: float
    shed: float
    rss_bytes: float | None
    joins: float
    #: The origin's own join latency histogram: {upper bound in s: cumulative count}.
    join_buckets: dict[float, float] = field(default_factory=dict)
    #: LL-DASH routes: the MPD, segments, and the rest (init segments, the clock).
    mpd_requests: float = 0.0
    segment_requests: float = 0.0
    other_dash_requests: float = 0.0


def parse(text: str, at: float) -> Reading:
    values: dict[str, float] = {}
    hls = {"playlist": 0.0, "part": 0.0, "other": 0.0}
    dash = {"mpd": 0.0, "segment": 0.0, "other": 0.0}
    rss: float | None = None
    join_buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, float(sample.value)
            if name == "majlis_http_requests_total" and labels.get("route", "").startswith("/hls/"):
                route = labels["route"]
                kind = (
                    "playlist"
                    if route == PLAYLIST_ROUTE
                    else "part"
                    if route == PART_ROUTE
                    else "other"
                )
                hls[kind] += value
            elif name == "majlis_http_requests_total" and labels.get("route", "").startswith(
                "/dash/"
            ):
                route = labels["route"]
                kind = (
                    "mpd"
                    if route == MPD_ROUTE
                    else "segment"
                    if route == SEGMENT_ROUTE
                    else "other"
                )
                dash[kind] += value
            elif (
                name == "majlis_http_request_duration_seconds_bucket"
                and labels.get("route") == JOIN_ROUTE
            ):
                join_buckets[float(labels["le"])] = value
            elif name == "majlis_admission_total":
                values[f"admission_{labels.get('outcome')}"] = value
            elif name == "process_resident_memory_bytes":
                rss = value
            elif name in ("majlis_hls_parts_published_total", "majlis_joins_total"):
                values[name] = value
    return Reading(
        at=at,
        parts_published=values.get("majlis_hls_parts_published_total", 0.0),
        playlist_requests=hls["playlist"],
        part_requests=hls["part"],
        other_hls_requests=hls["other"],
        admitted=values.get("admission_admitted", 0.0),
        shed=values.get("admission_shed", 0.0),
        rss_bytes=rss,
        joins=values.get("majlis_joins_total", 0.0),
        join_buckets=join_buckets,
        mpd_requests=dash["mpd"],
        segment_requests=dash["segment"],
        other_dash_requests=dash["other"],
    )


def read(url: str) -> Reading | None:
    """One reading, or None when the origin has no (or an unreadable) /metrics.

    The origin renders /metrics at most once a second: a reading is placed at the time its
    rendering was made (``X-Metrics-Rendered-At``), not when it arrived, so the rates between
    readings stay true. MAJLIS_METRICS_TOKEN, if set here, is sent as the origin asks."""
    token = os.environ.get("MAJLIS_METRICS_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(url, timeout=5, headers=headers)
        if response.status_code != 200:
            return None
        rendered_at = float(response.headers.get("x-metrics-rendered-at", time.time()))
        return parse(response.text, rendered_at)
    except (httpx.HTTPError, ValueError):
        return None


@dataclass
class MetricsSampler:
    """Reads /metrics every ``every_s`` in a thread until stopped."""

    url: str
    every_s: float = 1.0
    readings: list[Reading] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="metrics-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._add(read(self.url))
            self._stop.wait(self.every_s)

    def _add(self, reading: Reading | None) -> bool:
        """Keep ``reading`` unless it is the rendering already kept (the origin renders at
        most once a second); whether it was new."""
        if reading is None or (self.readings and reading.at <= self.readings[-1].at):
            return False
        self.readings.append(reading)
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if not self._add(read(self.url)):  # the last rendering was too recent: the next one
            time.sleep(1.0)
            self._add(read(self.url))


def amplification(first: Reading, last: Reading, rendition: str = "aac") -> dict[str, Any]:
    """Origin requests per published part (LL-HLS routes) and per published segment of
    ``rendition`` (LL-DASH routes) between two readings (None when no part was published)."""
    parts = last.parts_published - first.parts_published
    segments = parts * PART_S / SEGMENT_S[rendition]
    if parts <= 0:
        return {
            "parts_published": parts,
            "playlist_per_part": None,
            "part_per_part": None,
            "hls_per_part": None,
            "segments_published": segments,
            "mpd_per_segment": None,
            "segment_per_segment": None,
        }
    playlist = last.playlist_requests - first.playlist_requests
    part = last.part_requests - first.part_requests
    other = last.other_hls_requests - first.other_hls_requests
    mpd = last.mpd_requests - first.mpd_requests
    segment = last.segment_requests - first.segment_requests
    return {
        "parts_published": parts,
        "playlist_requests": playlist,
        "part_requests": part,
        "other_hls_requests": other,
        "playlist_per_part": playlist / parts,
        "part_per_part": part / parts,
        "hls_per_part": (playlist + part + other) / parts,
        "segments_published": segments,
        "mpd_requests": mpd,
        "segment_requests": segment,
        "other_dash_requests": last.other_dash_requests - first.other_dash_requests,
        "mpd_per_segment": mpd / segments,
        "segment_per_segment": segment / segments,
    }


def join_latency_bound(first: Reading, last: Reading, q: float) -> float | None:
    """The origin-side join latency the ``q``-quantile stays under (a histogram bucket bound).

    The generator's own join timings include its queueing when it is saturated; the origin's
    histogram says how long the node itself took.
    """
    bounds = sorted(last.join_buckets)
    counts = [last.join_buckets[b] - first.join_buckets.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    for bound, count in zip(bounds, counts, strict=True):
        if count >= q * counts[-1]:
            return bound
    return None
