"""The embedded SQLite store under the demo's own load: ingestion and a background job writing
at once must wait for each other, never fail with "database is locked"."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from safecity.core.db import make_engine


def test_staged_insert_survives_a_job_committing_in_between(tmp_path: Path) -> None:
    # Ingestion's SQLite path: write a temp stage, read the main table, then insert into it.
    # A job committing between the read and the insert used to make the insert fail at once
    # (a stale read snapshot cannot become a write); now the first write takes the lock, so
    # the job waits instead.
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE readings (k INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE jobs (k INTEGER PRIMARY KEY)"))
    read_done, job_result = threading.Event(), {}

    def job() -> None:
        read_done.wait(5)
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO jobs (k) VALUES (1)"))
            job_result["ok"] = True
        except Exception as exc:  # noqa: BLE001 - the test reports what the job met
            job_result["error"] = exc

    worker = threading.Thread(target=job)
    worker.start()
    with engine.connect() as conn:
        tx = conn.begin()
        raw = conn.connection.driver_connection
        raw.execute("CREATE TEMP TABLE stage (k INTEGER)")
        raw.execute("INSERT INTO stage VALUES (7)")
        raw.execute("SELECT count(*) FROM readings").fetchall()
        read_done.set()
        worker.join(0.5)  # the job would commit here if the stage had not taken the lock
        raw.execute("INSERT INTO readings SELECT k FROM stage")
        tx.commit()
    worker.join(10)
    assert job_result == {"ok": True}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM readings")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 1


def test_immediate_begin_survives_an_autocommit_checkout(tmp_path: Path) -> None:
    # SQLAlchemy resets a connection used with AUTOCOMMIT to a deferred BEGIN on its return.
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:
        assert conn.connection.driver_connection.isolation_level == "IMMEDIATE"
