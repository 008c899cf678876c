"""`make fuzz`: schemathesis against a live demo server, as an administrator and a district officer.

Loads the demo city into a temporary SQLite database, starts `safecity serve` on a free port,
takes a bearer token for `admin` (city-wide) and `zhifu` (district 芝罘区), and runs schemathesis
over the whole OpenAPI document once per token. Any 5xx fails the run (exit 1); other checks
(schema conformance etc.) are reported by schemathesis but do not fail it.

Budget: FUZZ_MAX_EXAMPLES test cases per operation (default 25) and FUZZ_MAX_SECONDS per token
(default 150). FUZZ_DATABASE_URL reuses an already loaded database instead of building one.
FUZZ_WORKERS defaults to 1: with several, schemathesis 4.32 on Python 3.11 sometimes trips over
its own lambda-source parsing ("AST constructor recursion depth mismatch").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.browser import free_port

BIN = Path(sys.executable).parent
ACCOUNTS = ("admin", "zhifu")
# Operations that would end the fuzzer's own session or account, after which every later request
# would only test the 401 path.
EXCLUDE = r"^/api/v1/(auth/logout|users/\{username\}/disable)$"


def _env(url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SAFECITY_DATABASE_URL": url,
        "SAFECITY_ESCALATION_INTERVAL_SECONDS": "0",
        "SAFECITY_WARNINGS_DISPATCH_INTERVAL_SECONDS": "0",
    }
    env.pop("SAFECITY_CONFIG", None)
    return env


def _wait(base: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"fuzz: safecity serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("fuzz: the server did not answer /healthz in time")


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=10) as resp:
            return resp.status == 200
    except OSError:
        return False


def _token(base: str, username: str) -> str:
    body = json.dumps({"username": username, "password": "demo1234"}).encode()
    req = urllib.request.Request(
        base + "/api/v1/auth/token", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return str(json.load(resp)["access_token"])


def _schemathesis(base: str, token: str, report: Path) -> int:
    cmd = [
        str(BIN / "schemathesis"),
        "run",
        base + "/api/v1/openapi.json",
        "--checks",
        "not_a_server_error",
        "--exclude-path-regex",
        EXCLUDE,
        "--max-examples",
        os.environ.get("FUZZ_MAX_EXAMPLES", "25"),
        "--max-time",
        os.environ.get("FUZZ_MAX_SECONDS", "150"),
        "--workers",
        os.environ.get("FUZZ_WORKERS", "1"),
        "--seed",
        os.environ.get("FUZZ_SEED", "20261123"),
        "--request-timeout",
        "60",
        "--no-shrink",
        "--suppress-health-check",
        "all",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "-H",
        f"Authorization: Bearer {token}",
    ]
    return subprocess.call(cmd)


def _count(report: Path) -> tuple[int, int]:
    """(requests sent, responses with a 5xx status) from schemathesis' NDJSON events."""
    requests = server_errors = 0
    for line in report.read_text().splitlines():
        for status in _statuses(json.loads(line)):
            requests += 1
            server_errors += status >= 500
    return requests, server_errors


def _statuses(node: object) -> list[int]:
    # Interactions sit deep inside the scenario events; walk the tree for every response.
    out: list[int] = []
    if isinstance(node, dict):
        response = node.get("response")
        if (
            isinstance(response, dict)
            and isinstance(response.get("status_code"), int)
            and "request" in node
        ):
            out.append(response["status_code"])
        for value in node.values():
            out += _statuses(value)
    elif isinstance(node, list):
        for value in node:
            out += _statuses(value)
    return out


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="safecity-fuzz-"))
    url = os.environ.get("FUZZ_DATABASE_URL") or f"sqlite:///{work}/fuzz.db"
    env = _env(url)
    if "FUZZ_DATABASE_URL" not in os.environ:
        print("fuzz: loading the demo city into", url, flush=True)
        subprocess.run(
            [str(BIN / "safecity"), "demo"], env=env, check=True, stdout=subprocess.DEVNULL
        )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "safecity"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    failed, totals = False, []
    try:
        _wait(base, server)
        for username in ACCOUNTS:
            print(f"fuzz: schemathesis as {username}", flush=True)
            report = work / f"{username}.ndjson"
            code = _schemathesis(base, _token(base, username), report)
            requests, errors = _count(report) if report.exists() else (0, 0)
            totals.append(
                {
                    "account": username,
                    "requests": requests,
                    "server_errors": errors,
                    "schemathesis_exit": code,
                }
            )
            alive = server.poll() is None and _healthy(base)
            totals[-1]["server_alive"] = alive
            # Only the no-5xx check runs, so schemathesis' own exit code fails the run too.
            failed |= errors > 0 or requests == 0 or not alive or code != 0
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    print(json.dumps({"fuzz": totals, "ok": not failed}), flush=True)
    sent = sum(t["requests"] for t in totals)
    errors = sum(t["server_errors"] for t in totals)
    # The closing line CI reads: requests that passed the no-5xx check, and those that did not.
    print(f"fuzz: {sent - errors} passed, {errors} failed", flush=True)
    if failed:
        print(f"fuzz: server log kept in {work / 'serve.log'}", flush=True)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
