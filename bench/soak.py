"""Soak: the demo as `make demo` runs it (server + simulated sensors on SQLite) for N minutes.

Prints one JSON object: readings sent, every HTTP answer the devices got (5xx counted, retried
ones too), 5xx answers to a duty officer polling the alarm list, errors the server logged, and
when each scripted incident's first alarm appeared (seconds after the simulator started).
Exits 1 when anything answered 5xx, so `make soak` fails like a test would.

    .venv/bin/python bench/soak.py --minutes 30
    SOAK_ESCALATION_S=10 .venv/bin/python bench/soak.py --minutes 1.5   # the suite's version
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
INCIDENTS = {
    "gas": "燃气泄漏 gas leak",
    "pipe_pressure": "管道爆管 pipe burst",
    "bridge_strain": "桥梁超载 bridge overload",
    "elevator": "电梯困人 trapped",
    "vehicle": "车辆偏离路线 off route",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(base: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("safecity serve exited while starting")
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError("safecity serve did not start")


def _first_alarms(db: Path, since: datetime) -> dict[str, float]:
    """Seconds from `since` to the first alarm raised or escalated on each scripted sensor type
    (a demo alarm already open on the sensor counts when the incident raises its level)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute(
            "SELECT coalesce(s.sensor_type, 'gas'), min(h.at) FROM alarm_actions h"
            " JOIN alarms a ON a.id = h.alarm_id LEFT JOIN sensors s ON s.id = a.sensor_id"
            " WHERE h.action IN ('raise', 'escalate') AND h.at >= ?"
            " AND a.rule NOT IN ('offline', 'stuck', 'range')"
            " GROUP BY 1",
            (since.replace(tzinfo=None).isoformat(sep=" "),),
        ).fetchall()
    finally:
        con.close()
    out: dict[str, float] = {}
    for stype, raised in rows:
        at = datetime.fromisoformat(raised)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if stype in INCIDENTS:
            out[stype] = round((at - since).total_seconds(), 1)
    return out


def soak(
    minutes: float,
    escalation_s: float = 300,
    rate: float = 100,
    sensors: int = 3000,
    workdir: Path | None = None,
) -> dict[str, Any]:
    work = workdir or Path(tempfile.mkdtemp(prefix="safecity-soak-"))
    db = work / "safecity.db"
    env = os.environ | {
        "SAFECITY_DATABASE_URL": f"sqlite:///{db}",
        "SAFECITY_ESCALATION_INTERVAL_SECONDS": str(escalation_s),
        "SAFECITY_STORAGE_DIR": str(work / "storage"),
    }
    subprocess.run([BIN / "safecity", "demo"], env=env, check=True, capture_output=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = work / "serve.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [BIN / "safecity", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    sim = None
    try:
        _wait_up(base, server)
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            timeout=30,
            json={"username": "duty", "password": "demo1234"},
        ).json()["access_token"]
        started = datetime.now(UTC)
        sim_err = open(work / "simulate.log", "w+b")  # noqa: SIM115 - read back at the end
        sim = subprocess.Popen(
            [
                BIN / "safecity",
                "simulate",
                "--via",
                "http",
                "--sensors",
                str(sensors),
                "--rate",
                str(rate),
                "--duration",
                str(minutes * 60),
                "--url",
                base,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=sim_err,
        )
        polls: dict[str, int] = {}
        while sim.poll() is None:
            try:
                code = httpx.get(
                    f"{base}/api/v1/monitoring/alarms?open=true",
                    timeout=30,
                    headers={"Authorization": f"Bearer {token}"},
                ).status_code
                polls[str(code)] = polls.get(str(code), 0) + 1
            except httpx.TransportError:
                polls["error"] = polls.get("error", 0) + 1
            time.sleep(10)
        out, _ = sim.communicate()
        sim_err.seek(0)
        err = sim_err.read()
        sim_err.close()
        stats = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
    finally:
        if sim is not None and sim.poll() is None:
            sim.kill()
        server.terminate()
        server.wait(30)
    text = log_path.read_text(errors="replace")
    http = stats.get("http", {})
    device_5xx = sum(n for code, n in http.items() if code.startswith("5"))
    poll_5xx = sum(n for code, n in polls.items() if code.startswith("5"))
    logged_5xx = len(re.findall(r'" 5\d\d ', text))
    result = {
        "minutes": minutes,
        "escalation_interval_s": escalation_s,
        "rate": rate,
        "sent": stats.get("sent", 0),
        "device_answers": http,
        "device_5xx": device_5xx,
        "poll_answers": polls,
        "poll_5xx": poll_5xx,
        "server_errors_logged": text.count("Traceback"),
        "access_log_5xx": logged_5xx,
        "simulator_retries": err.decode().count("retrying in"),
        "simulator_exit": sim.returncode,
        "first_incident_s": _first_alarms(db, started),
        "workdir": str(work),
    }
    result["five_xx"] = device_5xx + poll_5xx + logged_5xx
    result["ok"] = (
        result["five_xx"] == 0 and result["server_errors_logged"] == 0 and sim.returncode == 0
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "30"))
    )
    parser.add_argument(
        "--escalation", type=float, default=float(os.environ.get("SOAK_ESCALATION_S", "300"))
    )
    parser.add_argument("--rate", type=float, default=100)  # as `make demo` runs it
    parser.add_argument("--sensors", type=int, default=3000)
    args = parser.parse_args()
    result = soak(args.minutes, args.escalation, args.rate, args.sensors)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
