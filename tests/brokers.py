"""Brokers of the tests' own, started from the shipped configurations on free ports.

The machine's Mosquitto on 1883 runs with default settings, so a test that relies on
deploy/mosquitto/safecity.conf or deploy/nats/safecity-mqtt.conf starts one of these instead:

    broker = MosquittoBroker(tmp_path); broker.start(); … broker.stop()   # or .kill() (SIGKILL)
    broker = NatsMqttBroker(tmp_path);  broker.start(); … broker.kill(); broker.start()

A missing binary skips the test, and fails it under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INGEST_PASSWORD = "test-ingest-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def require_binary(name: str, *candidates: str) -> str:
    """Path of the binary; skips the test when missing (fails when CI=true)."""
    for path in (*candidates, shutil.which(name)):
        if path and os.path.exists(path):
            return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} binary missing (CI=true: failing, not skipping)")
    pytest.skip(f"{name} binary missing")


class _Process:
    """A broker process the test may stop cleanly, kill -9 and start again on the same port."""

    exe: str
    conf: Path
    port: int
    env: dict[str, str] | None = None

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None

    def start(self, timeout: float = 15) -> None:
        log = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT, env=self.env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.exe} exited with {self.proc.returncode}")
            if port_open(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.exe} did not listen on {self.port}")

    def stop(self) -> None:
        """SIGTERM: a clean shutdown (Mosquitto saves its queue to disk)."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL: the broker crashes with whatever it holds in memory."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(20)
            self.proc = None


class MosquittoBroker(_Process):
    """Mosquitto with deploy/mosquitto/safecity.conf, anonymous, persistence in `workdir`."""

    def __init__(self, workdir: str | Path) -> None:
        super().__init__()
        self.exe = require_binary("mosquitto", "/usr/sbin/mosquitto")
        self.port = free_port()
        tuning = (ROOT / "deploy" / "mosquitto" / "safecity.conf").read_text()
        self.conf = Path(workdir) / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence_location {workdir}/\nuser root\n{tuning}"
        )


def _replace_once(text: str, pattern: str, value: str) -> str:
    """Substitute one setting of the shipped file; a changed file fails loudly, not silently."""
    new, n = re.subn(pattern, value, text, flags=re.MULTILINE)
    if n != 1:
        raise AssertionError(f"deploy/nats/safecity-mqtt.conf: expected one {pattern!r}")
    return new


class NatsMqttBroker(_Process):
    """NATS Server with deploy/nats/safecity-mqtt.conf: only ports and store_dir are changed.

    The consumer logs in as safecity-ingest (password INGEST_PASSWORD); devices connect without
    a user name, as the shipped configuration expects.
    """

    def __init__(self, workdir: str | Path) -> None:
        super().__init__()
        self.exe = require_binary("nats-server", "/usr/sbin/nats-server")
        self.port, self.nats_port = free_port(), free_port()
        text = (ROOT / "deploy" / "nats" / "safecity-mqtt.conf").read_text()
        text = _replace_once(text, r"^listen: .*$", f"listen: 127.0.0.1:{self.nats_port}")
        text = _replace_once(
            text, r"^  listen: 0\.0\.0\.0:1883$", f"  listen: 127.0.0.1:{self.port}"
        )
        text = _replace_once(text, r'^  store_dir: ".*"$', f'  store_dir: "{workdir}/js"')
        self.conf = Path(workdir) / "nats-mqtt.conf"
        self.conf.write_text(text)
        self.log = Path(workdir) / "nats-server.log"
        self.env = {**os.environ, "SAFECITY_MQTT_INGEST_PASSWORD": INGEST_PASSWORD}

    def consumer_env(self) -> dict[str, str]:
        """SAFECITY_MONITORING_* for `safecity mqtt` against this broker, as the file says."""
        return {
            "SAFECITY_MONITORING_MQTT_PORT": str(self.port),
            "SAFECITY_MONITORING_MQTT_PROTOCOL": "4",
            "SAFECITY_MONITORING_MQTT_SHARE_GROUP": "",
            "SAFECITY_MONITORING_MQTT_USERNAME": "safecity-ingest",
            "SAFECITY_MONITORING_MQTT_PASSWORD": INGEST_PASSWORD,
        }
