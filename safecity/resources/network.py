"""The road network a process routes on: imported once (a file kept in storage, or a seeded
synthetic network), recorded in ``rs_road_networks``, built into memory once per process."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import shapely
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.core.config import get_settings
from safecity.core.errors import Conflict, Forbidden, invalid
from safecity.core.scope import Principal
from safecity.resources import roads, synthetic
from safecity.resources.models import RoadNetwork
from safecity.resources.roads import RoadGraph, Segments

IMPORTERS = frozenset({"admin"})
ROAD_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".geojson", ".json")
_lock = threading.Lock()
_cache: dict[tuple[int, str], RoadGraph] = {}


def _storage() -> Path:
    folder = Path(get_settings().storage_dir) / "roads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _activate(session: Session, row: RoadNetwork, who: Principal, now: datetime) -> RoadNetwork:
    session.execute(update(RoadNetwork).values(active=False))
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="import",
        object_type="road_network",
        object_id=row.id,
        before=None,
        after={"name": row.name, "source": row.source, "nodes": row.nodes, "edges": row.edges},
        now=now,
    )
    return row


def import_file(
    session: Session, who: Principal, path: str | Path, now: datetime, name: str = ""
) -> tuple[RoadNetwork, RoadGraph]:
    """Build the graph from a GeoJSON or OSM file (refused whole on bad input), keep a copy of
    the file in storage and make it the active network."""
    require_importer(who)
    src = Path(path)
    graph = roads.load(src)  # raises 422 before anything is written
    sha = _sha256(src)
    suffix = "".join(src.suffixes[-2:]) if src.name.endswith(".osm.pbf") else src.suffix
    kept = _storage() / f"{sha[:16]}{suffix}"
    if not kept.exists():
        shutil.copyfile(src, kept)
    row = RoadNetwork(
        name=name or src.name,
        source="file",
        path=str(kept.resolve()),
        sha256=sha,
        nodes=graph.n_nodes,
        edges=graph.n_edges,
        report=graph.report.as_dict() | {"bbox": bbox(graph)},
        active=True,
        imported_by=who.username,
        imported_at=now,
    )
    _activate(session, row, who, now)
    _cache[(row.id, sha)] = graph
    return row, graph


def require_importer(who: Principal) -> None:
    if who.role not in IMPORTERS:
        raise Forbidden("仅系统管理员可导入路网", "only administrators import road networks")


def import_upload(
    session: Session,
    who: Principal,
    filename: str,
    data: BinaryIO,
    now: datetime,
    *,
    max_bytes: int,
    name: str = "",
) -> tuple[RoadNetwork, RoadGraph]:
    """An uploaded road file (a page or API upload): refused before reading when the caller
    may not import or the name is not a road file, refused when larger than ``max_bytes``,
    then imported whole as :func:`import_file` does (bad content writes nothing)."""
    require_importer(who)
    base = Path(filename or "").name.strip()
    lower = base.lower()
    if not base or not lower.endswith(ROAD_SUFFIXES):
        raise invalid(
            "file",
            "请选择道路文件：.osm.pbf、.osm 或 GeoJSON（.geojson/.json）",
            "choose a road file: .osm.pbf, .osm or GeoJSON (.geojson/.json)",
        )
    suffix = next(x for x in ROAD_SUFFIXES if lower.endswith(x))
    safe = re.sub(r"[^\w.\-]+", "_", base[: -len(suffix)])[:80] or "roads"
    with tempfile.TemporaryDirectory(prefix="safecity-roads-") as folder:
        path = Path(folder) / f"{safe}{suffix}"
        written = 0
        with path.open("wb") as out:
            while chunk := data.read(1 << 20):
                written += len(chunk)
                if written > max_bytes:
                    raise invalid(
                        "file",
                        f"文件超过 {max_bytes // (1024 * 1024)} MB 上限；更大的路网请用命令 "
                        "safecity roads import 文件",
                        f"the file is larger than {max_bytes // (1024 * 1024)} MB; import larger "
                        "networks with `safecity roads import FILE`",
                    )
                out.write(chunk)
        if written == 0:
            raise invalid("file", "文件为空", "the file is empty")
        return import_file(session, who, path, now, name=name.strip() or base)


def bbox(graph: RoadGraph) -> list[float]:
    """[west, south, east, north] of the graph's nodes (degrees, 6 decimals)."""
    if graph.n_nodes == 0:
        return []
    return [
        round(float(graph.lon.min()), 6),
        round(float(graph.lat.min()), 6),
        round(float(graph.lon.max()), 6),
        round(float(graph.lat.max()), 6),
    ]


def describe(session: Session, row: RoadNetwork | None) -> dict[str, Any]:
    """What a page or the API says about a network: figures, bounding box, import report."""
    if row is None:
        return {"active": False}
    report = dict(row.report or {})
    box = report.get("bbox")
    if not box and row.active:
        box = bbox(graph(session))  # imported before the box was recorded: the built graph
    return {
        "active": bool(row.active),
        "id": row.id,
        "name": row.name,
        "source": row.source,
        "nodes": row.nodes,
        "edges": row.edges,
        "bbox": box or None,
        "report": report,
        "imported_at": row.imported_at.isoformat(),
        "imported_by": row.imported_by,
    }


def history(session: Session, limit: int = 20) -> list[RoadNetwork]:
    """The imports, newest first (one is active)."""
    return list(session.scalars(select(RoadNetwork).order_by(RoadNetwork.id.desc()).limit(limit)))


def import_synthetic(
    session: Session, who: Principal, params: dict[str, Any], now: datetime, name: str
) -> tuple[RoadNetwork, RoadGraph]:
    """A seeded synthetic network (the demo's): regenerated from ``params`` in every process."""
    graph = build_synthetic(params)
    sha = hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()
    row = RoadNetwork(
        name=name,
        source="synthetic",
        sha256=sha,
        params=params,
        nodes=graph.n_nodes,
        edges=graph.n_edges,
        report=graph.report.as_dict() | {"bbox": bbox(graph)},
        active=True,
        imported_by=who.username,
        imported_at=now,
    )
    _activate(session, row, who, now)
    _cache[(row.id, sha)] = graph
    return row, graph


def build_synthetic(params: dict[str, Any]) -> RoadGraph:
    """synthetic.city(...) with its nodes optionally clipped to a land polygon (the coastline):
    segments with an end outside are dropped, then unused nodes."""
    made = synthetic.city(
        int(params["n_nodes"]),
        seed=int(params.get("seed", 16)),
        spacing_m=float(params.get("spacing_m", 80.0)),
        arterial_every=int(params.get("arterial_every", 10)),
        bridges=int(params.get("bridges", 5)),
        centre=tuple(params.get("centre", synthetic.YANTAI)),  # type: ignore[arg-type]
    )
    seg = made.segments
    clip = params.get("clip")
    if clip:
        land = shapely.geometry.shape(clip)
        shapely.prepare(land)
        inside = shapely.contains_xy(land, seg.lon, seg.lat)
        keep = inside[seg.u] & inside[seg.v]
        used = np.zeros(seg.lon.size, dtype=bool)
        used[seg.u[keep]] = True
        used[seg.v[keep]] = True
        new_index = np.cumsum(used) - 1
        seg = Segments(
            lon=seg.lon[used],
            lat=seg.lat[used],
            u=new_index[seg.u[keep]],
            v=new_index[seg.v[keep]],
            speed_kmh=seg.speed_kmh[keep],
            oneway=seg.oneway[keep],
        )
    return roads.build_graph(seg)


def active(session: Session) -> RoadNetwork | None:
    return session.scalar(
        select(RoadNetwork).where(RoadNetwork.active.is_(True)).order_by(RoadNetwork.id.desc())
    )


def graph(session: Session) -> RoadGraph:
    """The active network's graph, built on first use in this process and then kept."""
    row = active(session)
    if row is None:
        raise Conflict(
            "尚未导入路网：请先运行 safecity resources roads import 文件",
            "no road network yet: run `safecity resources roads import FILE` first",
        )
    key = (row.id, row.sha256)
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:  # one build per process even when several requests arrive at once
        found = _cache.get(key)
        if found is None:
            if row.source == "synthetic":
                found = build_synthetic(dict(row.params or {}))
            else:
                found = roads.load(row.path)
            _cache.clear()  # an older network's graph is not needed any more
            _cache[key] = found
    return found


def forget() -> None:
    """Drop the in-memory graphs (tests switch databases)."""
    _cache.clear()
