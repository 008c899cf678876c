"""Benchmark: page speed on the demo city — every menu page of every staff role (target p95 < 300 ms).

Prints one JSON object. Loads `safecity demo` into a fresh PostgreSQL database, starts
`safecity serve` on a free port (or, with BENCH_PAGES_BASE=http://127.0.0.1:PORT, measures a
server already running on a loaded demo city), logs in through /login as each demo account
(password demo1234) and reads that account's menu from the page's side navigation — the menu
`safecity/web/access.py` builds from every plug-in's nav.py — so every page a role can open from
the menu is measured and none it cannot. Each page is then requested BENCH_PAGES_REPEATS (20)
times, one request after the other (no concurrency): its HTML and the data calls its script makes
on load (`DATA_CALLS`, found by loading every page in Chromium and recording its fetches; the one
map's layers are read from the map's own configuration in the HTML, as map.js does). One
untimed request per URL first warms the server (template compilation, the road graph); its time
is reported as `first_ms`.

Timed: the server's answer time of each URL as the client sees it over a local socket (request
sent → whole body read), per role, page and URL: p50/p95/max (nearest rank). Not timed: the
browser's drawing and scripts, static files, Server-Sent Event streams (the alarm console's and
the wall's: they never end), the notification badge's count (one call every page makes: timed
once per role as its own entry), logins, the demo load and start-up.
Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it): for every role and page, the slowest
p95 of its URLs < 300 ms; any non-2xx answer or failed request is an error (meets_target false).
The client, the server and PostgreSQL share this machine's cores; the JSON says how many.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "bench") not in sys.path:
    sys.path.append(str(ROOT / "bench"))  # after the standard library (bench/warnings.py)

from _common import drop_db, free_port, fresh_db, login, wait_http
from judging import verdict

BASE = os.environ.get("BENCH_PAGES_BASE", "")
REPEATS = int(os.environ.get("BENCH_PAGES_REPEATS", "20"))
ROLES = tuple(
    os.environ.get(
        "BENCH_PAGES_ROLES", "admin,commander,duty,analyst,inspector,liaison,zhifu,grid,enterprise"
    ).split(",")
)
ONLY = os.environ.get("BENCH_PAGES_ONLY", "")  # measure only pages whose path starts with this
PAGE_P95_MS = 300.0
BADGE = "/api/v1/hazards/notifications/unread-count"  # app.js, on every page but the wall
# What each page's script fetches on load (recorded in Chromium; /map is read from its config).
DATA_CALLS: dict[str, tuple[str, ...]] = {
    "/risk/map": ("/api/v1/risk/map?unit=grid", "/api/v1/risk/map/hazards"),
    "/hazards/report": ("/api/v1/warnings/divisions",),
    "/monitoring/alarms": ("/api/v1/map/layers/divisions",),  # + the SSE stream, not timed
    "/warnings/new": ("/api/v1/warnings/divisions",),
    "/public/warnings": ("/api/v1/warnings/divisions", "/api/v1/warnings/public"),
    "/resources/analysis": ("/api/v1/map/layers/divisions",),
    "/resources/coverage": ("/api/v1/map/layers/divisions",),
    "/resources/roads": ("/api/v1/map/layers/divisions",),
    "/response/incidents/new": ("/api/v1/map/layers/divisions",),
}
TIMED = [
    "each URL's answer over a local socket (sent → body read), sequential, per role and page",
    "a page: its HTML and the data calls its script makes on load",
    "the notification badge count once per role (every page calls it)",
]
NOT_TIMED = [
    "browser drawing and scripts",
    "static files",
    "SSE streams (alarm console, indicators wall)",
    "logins",
    "the first (warm-up) request of each URL: reported as first_ms",
    "demo load and start-up",
]


# ---------------------------------------------------------------- figures and judging (pure)


def percentile(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)  # nearest rank: p95 of 20 samples is the 19th smallest
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(samples: list[float], first: float | None = None) -> dict[str, Any]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return {
        "n": len(samples),
        "p50_ms": r(percentile(samples, 0.5)),
        "p95_ms": r(percentile(samples, 0.95)),
        "max_ms": r(max(samples) if samples else None),
        "first_ms": r(first),
    }


def page_p95(page: dict[str, Any]) -> float | None:
    """A page is as slow as its slowest URL (the HTML or a data call); None if one is unmeasured."""
    figures = [page["html"], *page["calls"].values()]
    values = [f.get("p95_ms") for f in figures]
    return None if any(v is None for v in values) else max(values)


def judge(out: dict[str, Any]) -> dict[str, Any]:
    checks: list[tuple[str, Any, str, float]] = []
    for role, part in sorted((out.get("roles") or {}).items()):
        for path, page in sorted((part.get("pages") or {}).items()):
            checks.append((f"{role} {path} p95_ms", page_p95(page), "<", PAGE_P95_MS))
    if not checks:
        checks.append(("pages", None, "<", PAGE_P95_MS))  # nothing measured is a miss
    return verdict(checks, (out.get("failures") or {}).get("first") or ())


def slowest(out: dict[str, Any], n: int = 15) -> list[dict[str, Any]]:
    """The slowest URLs by p95, each (role, URL) once (a data call several pages make is one)."""
    rows, seen = [], set()
    for role, part in (out.get("roles") or {}).items():
        for path, page in (part.get("pages") or {}).items():
            for url, fig in [(path, page["html"]), *page["calls"].items()]:
                if (role, url) not in seen:
                    seen.add((role, url))
                    rows.append({"role": role, "page": path, "url": url, **fig})
    rows.sort(key=lambda r: -(r.get("p95_ms") or 0.0))
    return rows[:n]


# ---------------------------------------------------------------- set-up


# ---------------------------------------------------------------- one role


def menu(page_html: str) -> list[str]:
    """The hrefs of the side navigation, in order, each once."""
    nav = re.search(r'<nav class="sidenav".*?</nav>', page_html, re.S)
    hrefs = re.findall(r'href="([^"]+)"', nav.group(0)) if nav else []
    return list(dict.fromkeys(html.unescape(h) for h in hrefs))


def map_calls(page_html: str) -> list[str]:
    """The one map's data calls for this user when the page opens: its base layers and the
    overlays map.js loads at once (a kind's layer, ``lazy``, only when switched on)."""
    found = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', page_html)
    if not found:
        return []
    cfg = json.loads(found.group(1))
    layers = [f"/api/v1/map/layers/{name}" for name in cfg.get("layers", {})]
    return layers + [o["url"] for o in cfg.get("overlays", []) if not o.get("lazy")]


def timed(client: httpx.Client, url: str, errors: list[str], role: str) -> tuple[float, str]:
    t = time.perf_counter()
    try:
        resp = client.get(url)
        body = resp.text  # httpx reads the whole body before returning
        status = resp.status_code
    except httpx.HTTPError as exc:
        errors.append(f"{role} GET {url}: {type(exc).__name__}")
        return math.nan, ""
    ms = (time.perf_counter() - t) * 1000
    if not 200 <= status < 300:
        errors.append(f"{role} GET {url}: HTTP {status}")
    return ms, body


def measure_role(base: str, role: str, errors: list[str]) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=120, follow_redirects=False) as client:
        login(client, role)
        start = client.get("/", follow_redirects=True)
        paths = [p for p in menu(start.text) if p.startswith(ONLY or "/")]
        plan: dict[str, list[str]] = {}
        first: dict[str, float] = {}
        for path in paths:  # the warm-up pass: also reads /map's layers from its HTML
            ms, body = timed(client, path, errors, role)
            first[path] = ms
            calls = map_calls(body) if path == "/map" else list(DATA_CALLS.get(path, ()))
            for url in calls:
                first[url], _ = timed(client, url, errors, role)
            plan[path] = calls
        first[BADGE], _ = timed(client, BADGE, errors, role)
        samples: dict[str, list[float]] = {}
        for _ in range(REPEATS):
            for path, calls in plan.items():
                for url in (path, *calls):
                    ms, _ = timed(client, url, errors, role)
                    if not math.isnan(ms):
                        samples.setdefault(url, []).append(ms)
            ms, _ = timed(client, BADGE, errors, role)
            if not math.isnan(ms):
                samples.setdefault(BADGE, []).append(ms)

    def fig(url: str) -> dict[str, Any]:
        return summary(samples.get(url, []), first.get(url))

    return {
        "menu": paths,
        "badge": fig(BADGE),
        "pages": {
            path: {"html": fig(path), "calls": {u: fig(u) for u in calls}}
            for path, calls in plan.items()
        },
    }


def measure(base: str) -> dict[str, Any]:
    errors: list[str] = []
    roles = {}
    t = time.perf_counter()
    for role in ROLES:
        try:
            roles[role] = measure_role(base, role, errors)
        except Exception as exc:  # noqa: BLE001  # a role that cannot be measured is an error
            errors.append(f"{role}: {type(exc).__name__}: {exc}")
    out: dict[str, Any] = {
        "benchmark": "pages",
        "database": "postgresql",
        "repeats": REPEATS,
        "roles_measured": list(roles),
        "measure_s": round(time.perf_counter() - t, 1),
        "roles": roles,
        "failures": {"total": len(errors), "first": errors[:20]},
    }
    out["slowest"] = slowest(out)
    return out


def main() -> None:
    if BASE:
        out = measure(BASE.rstrip("/"))
        out["server"] = f"already running at {BASE}"
    else:
        url = fresh_db(f"safecity_bench_pages_{os.getpid()}")
        env = {**os.environ, "SAFECITY_DATABASE_URL": url}
        proc = None
        try:
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "safecity.cli", "demo"],
                env=env,
                cwd=str(ROOT),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            demo_s = time.perf_counter() - t
            port = free_port()
            proc = subprocess.Popen(
                [sys.executable, "-m", "safecity.cli", "serve", "--port", str(port)],
                env=env,
                cwd=str(ROOT),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            base = f"http://127.0.0.1:{port}"
            wait_http(base, timeout=180)
            out = measure(base)
            out["server"] = "`safecity serve` (one worker) on a fresh demo city"
            out["demo_load_s"] = round(demo_s, 1)
        finally:
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            drop_db(url)
    out["timed"], out["not_timed"] = TIMED, NOT_TIMED
    out["machine"] = {
        "cpus": os.cpu_count(),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "note": "the client, the server and PostgreSQL share these cores with other work",
    }
    out.update(judge(out))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
