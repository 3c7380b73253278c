"""The report an operator reads the day before: report.json, PNG plots, report.html.

The HTML is one self-contained page (plots beside it as PNG files): the verdict first, then
the checks that decided it, the plan for tonight's audience and how it was extrapolated, the
headline figures, the plots, and how each figure was measured. No script, no external asset.
"""

from __future__ import annotations

import json
import time
from html import escape
from pathlib import Path
from typing import Any

from majlis.scaletest.plots import draw_all

#: How the report names what the listeners played (plan.PROTOCOLS, plan.DASH_RENDITIONS).
PROTOCOL_NAMES = {"dash": "LL-DASH", "hls": "LL-HLS"}
RENDITION_NAMES = {"aac": "AAC", "opus": "Opus"}


def listeners_name(protocol: str, rendition: str | None) -> str:
    """What the listeners played, in words: ``LL-DASH (Opus)``, ``LL-HLS``."""
    if protocol == "dash" and rendition:
        return f"LL-DASH ({RENDITION_NAMES.get(rendition, rendition)})"
    return PROTOCOL_NAMES[protocol]


CSS = """
body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{padding:.1em 1em;border-radius:6px} .verdict p{margin:.6em 0}
.verdict p:first-child{font-size:1.15em}
.go{background:#e3f5e1;border:1px solid #6c6} .nogo{background:#fbe3e3;border:1px solid #d66}
.noverdict{background:#fdf3d8;border:1px solid #d9a520}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.25em .8em;border-bottom:1px solid #eee;
text-align:left} td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#272} .bad{color:#b22;font-weight:600} img{max-width:100%;margin:.4em 0}
small,.note{color:#555}
"""


def _fmt(value: Any, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        text = f"{value:,.{digits}f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text}{unit}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _pair(
    amp: dict[str, Any], first: str = "playlist_per_part", second: str = "part_per_part"
) -> str:
    """Two origin request ratios side by side: playlist and part requests per published part
    (LL-HLS), or segment and MPD requests per published segment (LL-DASH)."""
    return f"{_fmt(amp.get(first), '', 3)} / {_fmt(amp.get(second), '', 3)}"


def _ms(timings: dict[str, Any] | None, *quantiles: str) -> str:
    timings = timings or {}
    return " / ".join(_fmt(timings.get(q), " ms") for q in quantiles)


def _protocol(s: dict[str, Any]) -> str:
    """A summary's protocol (reports from before --protocol were LL-HLS)."""
    return str(s.get("protocol") or "hls")


def _media_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures of what the listeners fetched, in their protocol's terms."""
    amp = s.get("amplification") or {}
    steady = s.get("amplification_steady") or {}
    if _protocol(s) == "dash":
        chunk = s.get("chunk_latency_ms") or {}
        return [
            (
                "chunk arrival latency: first chunk of each segment asked for on time, "
                "arrival - its end on the MPD timeline (p50 / p99 / max)",
                f"{_ms(chunk, 'p50', 'p99', 'max')} ({_fmt(chunk.get('count'))})",
            ),
            (
                "playback latency when the run stopped: the modelled player behind the speaker "
                "(p50 / p99)",
                _ms(s.get("playback_latency_ms"), "p50", "p99"),
            ),
            (
                "segments fetched / MPD reloads / heartbeats",
                f"{s.get('segments_fetched', 0):,} / {s.get('mpd_reloads', 0):,} / "
                f"{s['heartbeats']:,}",
            ),
            ("requests / errors (not 503/429)", f"{s['requests']:,} / {s['errors']:,}"),
            ("origin: segments published", _fmt(amp.get("segments_published"), "", 1)),
            (
                "origin: segment / MPD requests per segment, steady (everyone playing)",
                _pair(steady, "segment_per_segment", "mpd_per_segment"),
            ),
            (
                "origin: segment / MPD requests per segment, whole run (arrivals included)",
                _pair(amp, "segment_per_segment", "mpd_per_segment"),
            ),
        ]
    return [
        (
            "parts fetched / playlist reloads / heartbeats",
            f"{s['parts_fetched']:,} / {s['playlist_reloads']:,} / {s['heartbeats']:,}",
        ),
        ("requests / errors (not 503/429)", f"{s['requests']:,} / {s['errors']:,}"),
        ("origin: parts published", _fmt(amp.get("parts_published"))),
        (
            "origin: playlist / part requests per part, steady (everyone playing)",
            _pair(steady),
        ),
        (
            "origin: playlist / part requests per part, whole run (arrivals included)",
            _pair(amp),
        ),
    ]


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td class=n>{escape(v)}</td></tr>" for k, v in pairs)


def _figures(s: dict[str, Any], duration_s: float) -> list[tuple[str, str]]:
    origin_join = s.get("origin_join_s_at_most") or {}
    lat = s["speaker_to_listener_s"]
    return [
        ("listeners simulated / seated", f"{s['listeners']:,} / {s['seated']:,}"),
        (
            "join requests, as the generator timed them (p50 / p99)",
            f"{_fmt(s['join_attempt_ms']['p50'], ' ms')} / "
            f"{_fmt(s['join_attempt_ms']['p99'], ' ms')}",
        ),
        (
            "join, as the origin timed it (p50 / p99 at most)",
            f"{_fmt(origin_join.get('p50'), ' s', 3)} / {_fmt(origin_join.get('p99'), ' s', 3)}",
        ),
        (
            "seated, retries included (p50 / p99)",
            f"{_fmt(s['seated_ms']['p50'], ' ms')} / {_fmt(s['seated_ms']['p99'], ' ms')}",
        ),
        (
            "join attempts answered 503 / 429",
            f"{s['join_503']:,} ({_pct(s['join_503_ratio'])}) / "
            f"{s['join_429']:,} ({_pct(s['join_429_ratio'])})",
        ),
        ("peak seated per second (3 s average)", _fmt(s["joins_per_s_peak"], "/s", 1)),
        (
            "time to first audio (p50 / p99)",
            f"{_fmt(s['first_audio_ms']['p50'], ' ms')} / "
            f"{_fmt(s['first_audio_ms']['p99'], ' ms')}",
        ),
        (
            "stalls / stall ratio",
            f"{s['stalls']:,} / {_pct(s['stall_ratio'])} "
            f"({s['stalled_s']:.1f} s of {s['audio_s']:.0f} s of audio)",
        ),
        (
            "speaker → listener latency (p50 / p95, marks heard)",
            f"{_fmt(lat['p50'], ' s', 2)} / {_fmt(lat['p95'], ' s', 2)} ({lat['count']})",
        ),
        *_media_rows(s),
        ("origin: requests shed (503)", _fmt(s["origin_shed"])),
        ("origin: peak resident memory", _fmt(s["origin_peak_rss_mb"], " MB", 0)),
        (
            "load generator: requests per second it sustained",
            _fmt(s["requests"] / max(duration_s, 1.0), "/s", 0),
        ),
        (
            "load generator: peak CPU / clock lag / workers",
            f"{s['generator_cpu_peak']:.0f} % / {s.get('generator_lag_ms_peak', 0):.0f} ms / "
            f"{s['workers']}",
        ),
    ]


def _duration(report: dict[str, Any]) -> float:
    timeline = report["engine"]["timeline"]
    return float(timeline[-1]["t"]) if timeline else 0.0


def _plan_rows(plan: dict[str, Any]) -> list[tuple[str, str]]:
    per_node = _fmt(plan["joins_per_s_per_node_measured"], "/s", 1)
    if not plan["join_capacity_reached"]:
        per_node += " (none refused: a lower bound)"
    api_nodes = _fmt(plan["api_nodes_needed"])
    if plan["api_nodes_needed"] is None:
        api_nodes = "not sized"
        if plan["api_nodes_upper_bound"] is not None:
            api_nodes += f" (at most {plan['api_nodes_upper_bound']:,})"
    edges = _fmt(plan["edges_needed"])
    if plan["edges_is_upper_bound"]:
        edges += " (an upper bound)"
    rows = [
        ("target audience", _fmt(plan["target_audience"])),
        ("arriving within", _fmt(plan["surge_window_s"], " s")),
        ("joins per second that needs", _fmt(plan["joins_per_s_needed"], "/s", 1)),
        ("listeners per edge (measured)", _fmt(plan["listeners_per_edge_measured"])),
        ("edges needed", edges),
        ("joins per second per API node (measured)", per_node),
        ("API nodes needed", api_nodes),
    ]
    run = plan["run_to_find_join_capacity"]
    if run is not None and plan["api_nodes_needed"] is None:
        rows.append(
            (
                "a run that finds an API node's join capacity",
                f"at least {run['joins_per_s']:,}/s: {run['listeners']:,} listeners "
                f"within {run['over_s']:g} s",
            )
        )
    return rows


def _caveats(report: dict[str, Any]) -> list[str]:
    plan, s = report["verdict"]["plan"], report["summary"]
    notes = [f"Media side: {e}" for e in report["media"].get("errors", [])[:5]]
    if report["plan"]["speakers"] and s["speakers_connected"] < report["plan"]["speakers"]:
        notes.append(
            f"Only {s['speakers_connected']} of {report['plan']['speakers']} bot speakers "
            "connected over WHIP."
        )
    if plan["generator_saturated"]:
        notes.append(
            f"The load generator peaked at {s['generator_cpu_peak']:.0f} % CPU and its clock "
            f"ran up to {s.get('generator_lag_ms_peak', 0):.0f} ms late: it, not only the "
            "deployment, may have limited this run — stalls and late parts can be its own. "
            "Give it cores (--generator-cpus) or run distributed (--master/--worker)."
        )
    if s["join_429"] and not s["join_503"]:
        notes.append(
            f"{s['join_429']:,} joins were answered 429: that is the per-IP join limit "
            "(every simulated listener shares the generator's address), not the node at its "
            "capacity. Raise MAJLIS_JOINS_PER_IP_PER_MIN on the deployment for a rehearsal."
        )
    if plan["api_nodes_needed"] is not None and plan["edges_needed"]:
        notes.append(
            "The counts assume what every node shares keeps up at tonight's scale: the "
            "database and Redis behind the API nodes, the origin behind the edges (about "
            f"one request per {'segment' if _protocol(s) == 'dash' else 'part'} per edge)."
        )
    return notes


def _verdict_box(verdict: dict[str, Any]) -> str:
    """The headline and the sentences that explain it, in one box the colour of the outcome:
    green GO, red NO-GO, amber NO VERDICT (this run was too small to size tonight)."""
    style = {"go": "go", "no-go": "nogo", "no-verdict": "noverdict"}[verdict["outcome"]]
    details = "".join(f"<p>{escape(d)}</p>" for d in verdict["details"])
    return (
        f"<div class='verdict {style}'><p><b>{escape(verdict['headline'])}</b></p>{details}</div>"
    )


_LISTENER_HLS = """<li>Listeners are Locust users playing LL-HLS the way hls.js does: join
(503/429 waited out with the jittered Retry-After), init segment, the last three parts, then
blocking playlist reloads (<code>_HLS_msn</code>/<code>_HLS_part</code>) and the part each names.
A playback-buffer model starts playing after three parts, drains in real time, and counts a
stall whenever it runs dry. Stall ratio = stalled time / (audio received + stalled).</li>"""

_LISTENER_DASH = """<li>Listeners are Locust users playing low-latency DASH the way dash.js does
(what the web client plays wherever there are Media Source Extensions): join (503/429 waited
out with the jittered Retry-After), the MPD, the clock (its <code>UTCTiming</code>), the init
segment; then, starting the MPD's latency target (1.2 s) behind live in the segment holding that
point, each segment asked for once its first chunk is done
(<code>availabilityTimeOffset</code>) and read as it streams in, each CMAF chunk into a
playback-buffer model the moment it is complete. The model plays from the first chunk, drains in
real time, and counts a stall whenever it runs dry; the MPD is re-read every
<code>minimumUpdatePeriod</code>, and a listener more than three segments behind live tunes in
again. Stall ratio = stalled time / (audio received + stalled).</li>
<li>Chunk arrival latency: for each segment asked for on time, when its first chunk arrived,
less the end of that chunk on the MPD's timeline (when its last sample was captured): the
encoder's, origin's and edge's share of the latency, on the origin's clock. Playback latency
adds the player's buffer: the modelled player's position against the speaker when the run
stopped.</li>"""

_AMPLIFICATION_HLS = """<li>Amplification: the origin's <code>majlis_http_requests_total</code>
for the playlist and part routes, over <code>majlis_hls_parts_published_total</code>: in the
steady state (from 2 s after every listener was playing to the last reading before the load
stopped; the check uses it) and over the whole run. Arrivals add at most one origin request a
second per edge (a newcomer's first playlist is cached for a second), whatever the crowd.</li>"""

_AMPLIFICATION_DASH = """<li>Amplification: the origin's <code>majlis_http_requests_total</code> for
the segment route (<code>/dash/{space_id}/{rendition}/{name}</code>) and the MPD's, over the
segments of the listeners' rendition published (the seconds of the AAC parts
<code>majlis_hls_parts_published_total</code> counts, 0.256 s each, over the rendition's segment:
2.048 s for AAC, parts / 8; 1.92 s for Opus): in the steady state (from 2 s after every listener was
playing to the last reading before the load stopped; the check reads segment requests) and over the
whole run. The MPD is re-read every 6 s by each listener and kept 2 s by an edge: about one origin
request per segment per edge whatever the audience, so it is shown, not checked.</li>"""

_MEASURED = """<li>"Seated" is from the first join attempt to the 200, retries included; "time to
first audio" from the first join attempt to the moment the buffer model starts playing.</li>
<li>Speaker → listener latency: speaker 0 (a WHIP bot) sends a 60 ms tone burst at every even
second of the wall clock; probe listeners follow the LL-HLS playlist through the same edge, decode
each part with PyAV and date each burst by the part's arrival plus its offset in the part. A
player's own buffer comes on top (about three parts for hls.js; dash.js aims at 1.2 s behind
live).</li>"""


def _how(protocol: str) -> str:
    """How the figures were measured, for the protocol the listeners played."""
    if protocol == "dash":
        return "\n".join((_LISTENER_DASH, _MEASURED, _AMPLIFICATION_DASH))
    return "\n".join((_LISTENER_HLS, _MEASURED, _AMPLIFICATION_HLS))


def render_html(report: dict[str, Any], pngs: dict[str, str]) -> str:
    verdict, plan, s = report["verdict"], report["plan"], report["summary"]
    protocol = _protocol(s)
    checks = "".join(
        f"<tr><td class={'ok' if c['ok'] else 'bad'}>{'pass' if c['ok'] else 'FAIL'}</td>"
        f"<th>{escape(c['name'])}</th><td class=n>{escape(c['measured'])}</td>"
        f"<td>{escape(c['limit'])}</td></tr>"
        for c in verdict["checks"]
    )
    plots = "".join(
        f"<h3>{escape(name.capitalize())}</h3><img src='{escape(file)}' alt='{escape(name)}'>"
        for name, file in pngs.items()
    )
    caveats = "".join(f"<li>{escape(n)}</li>" for n in _caveats(report))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(report["engine"]["started"]))
    title = escape(verdict["headline"][:60])
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>majlis scaletest — {title}</title><style>{CSS}</style></head><body>
<h1>majlis scaletest report</h1>
<p class=note>{escape(when)} · profile <b>{escape(plan["profile"])}</b>:
{plan["listeners"]:,} listeners over {plan["over_s"]:g} s, then {plan["hold_s"]:g} s at full
audience · {plan["speakers"]} speaker(s), {plan["probes"]} probe(s) ·
API {escape(plan["api_url"])} · {escape(listeners_name(protocol, s.get("dash_rendition")))}
listeners on
{escape(plan["hls_url_base"])}</p>
{_verdict_box(verdict)}
{"<ul>" + caveats + "</ul>" if caveats else ""}
<h2>Checks on this run</h2><table>{checks}</table>
<h2>Tonight's plan, extrapolated</h2><table>{_rows(_plan_rows(verdict["plan"]))}</table>
<p class=note>An edge costs the origin about one request per published part (LL-HLS) or segment
(LL-DASH) whatever its audience (the amplification check above), so edges scale out independently:
the listeners one edge held here, divided into the target, is the edge count: an upper bound unless
that edge held the whole audience, as nothing on an edge refuses work and a passing run never finds
its limit. Joins are the only per-listener cost on API nodes: the target divided by its arrival
window is the join rate tonight needs, divided by what one node admitted here (the peak 3-second
average of seated listeners per second). That is a node's capacity only when it refused joins (503);
a node that refused none admitted what this run asked, a lower bound, and no API node count is
derived from it: the verdict then says how large a run would find the capacity.</p>
<h2>Figures</h2><table>{_rows(_figures(s, _duration(report)))}</table>
<h2>Plots</h2>{plots}
<h2>How these were measured</h2><ul class=note>
{_how(protocol)}
</ul>
<p class=note>Raw data: <a href="report.json">report.json</a>.</p>
</body></html>
"""


def write_report(out_dir: Path, report: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = draw_all(report, out_dir)
    report = {**report, "plots": pngs}
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, default=str))
    html = out_dir / "report.html"
    html.write_text(render_html(report, pngs), encoding="utf-8")
    return html
