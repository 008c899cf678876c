"""The road graph: OSM-tagged ways (GeoJSON or .osm/.osm.pbf) to directed travel-time CSR matrices.

OSM semantics: ways connect only at shared vertices (a shared OSM node id, or in GeoJSON the same
coordinate to 1e-7°), so a bridge or overpass crossing another road without a shared vertex does
not connect. One-way streets (``oneway`` yes/true/1 or -1/reverse, roundabouts, motorways) are
honoured. Edge cost is haversine length ÷ speed (``maxspeed`` in km/h, else a per-class default).
Pure: numpy/scipy/shapely only, no database, no clock.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from safecity.core.errors import invalid

EARTH_RADIUS_M = 6_371_008.8

# Average urban travel speeds (km/h) of an emergency vehicle per OSM highway class when a way has
# no usable maxspeed; a city passes its own dict. Classes absent here (footway, cycleway, steps,
# path, construction…) are not driveable and their ways are skipped (counted in the report).
DEFAULT_SPEEDS_KMH: dict[str, float] = {
    "motorway": 90,
    "motorway_link": 50,
    "trunk": 70,
    "trunk_link": 40,
    "primary": 50,
    "primary_link": 35,
    "secondary": 40,
    "secondary_link": 30,
    "tertiary": 35,
    "tertiary_link": 25,
    "unclassified": 30,
    "residential": 25,
    "living_street": 10,
    "service": 15,
    "road": 25,
}

# Tags the builder reads; every other tag key is ignored and counted.
ROUTING_TAGS = frozenset({"highway", "maxspeed", "oneway", "junction"})
_ONEWAY_FORWARD = {"yes", "true", "1"}
_ONEWAY_BACKWARD = {"-1", "reverse"}
_TWO_WAY = {"no", "false", "0"}
_CLOSED = {"reversible", "alternating"}  # direction changes by time of day: unsafe to route on
_MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.IGNORECASE)
_UNIT_FACTOR = {"": 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344, "knots": 1.852}
SNAP_SAMPLE_M = 50.0  # spacing of snap samples along long edges
_MIN_COST_S = 1e-3  # scipy's csgraph drops explicit zeros: a zero-length edge must cost > 0


@dataclass
class BuildReport:
    """What the builder used and what it skipped, so an import can say so."""

    ways_used: int = 0
    ways_skipped: Counter[str] = field(default_factory=Counter)
    ignored_tags: Counter[str] = field(default_factory=Counter)
    maxspeed_unparsed: int = 0
    oneway_unknown: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ways_used": self.ways_used,
            "ways_skipped": dict(self.ways_skipped),
            "ignored_tags": sum(self.ignored_tags.values()),
            "ignored_tag_keys": dict(self.ignored_tags.most_common(20)),
            "maxspeed_unparsed": self.maxspeed_unparsed,
            "oneway_unknown": self.oneway_unknown,
        }


@dataclass
class Segments:
    """Way segments before the graph: node coordinates and (u, v, speed, oneway) per segment.

    ``oneway`` is 1 (u→v only), -1 (v→u only) or 0 (both). The synthetic city generator and the
    parsers both produce this, so they share one vectorised graph builder.
    """

    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    speed_kmh: np.ndarray
    oneway: np.ndarray
    node_ids: np.ndarray | None = None


@dataclass
class RoadGraph:
    """Directed road graph: ``forward[u, v]`` seconds to drive u→v, ``backward`` its transpose.

    ``backward`` answers "how long from every node TO this one" with a single Dijkstra.
    Nodes are indexed 0..n-1; ``node_ids`` keeps the OSM node ids (or 0..n-1 for GeoJSON).
    """

    lon: np.ndarray
    lat: np.ndarray
    node_ids: np.ndarray
    forward: csr_matrix
    backward: csr_matrix
    length_m: csr_matrix
    report: BuildReport
    origin: tuple[float, float]
    tree: cKDTree  # over snap points: every node plus samples along long edges
    snap_xy: np.ndarray  # local metres of the snap points
    snap_node: np.ndarray  # the node each snap point stands for

    @property
    def n_nodes(self) -> int:
        return int(self.lon.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.forward.nnz)

    def project(self, lon: Any, lat: Any) -> np.ndarray:
        """Local equirectangular metres around the graph's centre (fine at city scale)."""
        return local_xy(np.asarray(lon, float), np.asarray(lat, float), self.origin)

    def snap(self, lon: float, lat: float, max_m: float = 500.0) -> tuple[int, float]:
        """The node standing for the nearest road and the distance to that road.

        Refused (422) beyond ``max_m``, saying how far the road is."""
        nodes, dist = self.snap_many([lon], [lat])
        if not dist[0] <= max_m:
            raise invalid(
                "lon",
                f"最近的道路在 {dist[0]:,.0f} 米外，超过 {max_m:,.0f} 米的限制",
                f"the nearest road is {dist[0]:,.0f} m away, beyond the {max_m:,.0f} m limit",
            )
        return int(nodes[0]), float(dist[0])

    def snap_many(
        self, lon: Sequence[float] | np.ndarray, lat: Sequence[float] | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest snap point per point (KD-tree in local metres): its node and road distance.

        Snap points are the nodes plus samples every ``SNAP_SAMPLE_M`` along edges longer than
        that, each standing for the nearer end of its edge: a point beside the middle of a long
        road snaps to that road, not to a node of another road that happens to be closer.
        Distances are metres in the local projection (< 0.1 % off at city scale)."""
        lon_a, lat_a = _checked_points(lon, lat)
        xy = self.project(lon_a, lat_a)
        dist, idx = self.tree.query(xy)
        idx = np.asarray(idx, dtype=np.int64)
        return self.snap_node[idx], np.asarray(dist, dtype=float)


def _checked_points(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    lon_a = np.atleast_1d(np.asarray(lon, dtype=float))
    lat_a = np.atleast_1d(np.asarray(lat, dtype=float))
    if lon_a.shape != lat_a.shape:
        raise invalid("lon", "经度与纬度数量不一致", "lon and lat differ in length")
    if not (np.all(np.abs(lon_a) <= 180) and np.all(np.abs(lat_a) <= 90)):
        raise invalid("lon", "坐标超出经纬度范围", "coordinates outside lon/lat range")
    return lon_a, lat_a


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), float)


def local_xy(lon: np.ndarray, lat: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    lon0, lat0 = origin
    x = np.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    y = np.radians(lat - lat0) * EARTH_RADIUS_M
    return np.column_stack([x, y])


def lonlat_from_xy(xy: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    lon0, lat0 = origin
    lon = lon0 + np.degrees(xy[:, 0] / (EARTH_RADIUS_M * math.cos(math.radians(lat0))))
    lat = lat0 + np.degrees(xy[:, 1] / EARTH_RADIUS_M)
    return np.column_stack([lon, lat])


# --- the vectorised builder -------------------------------------------------------------------


def build_graph(seg: Segments, report: BuildReport | None = None) -> RoadGraph:
    """Segments → deduplicated directed CSR (the cheapest of parallel edges kept) + KD-tree."""
    report = report or BuildReport()
    n = int(seg.lon.shape[0])
    if n == 0 or seg.u.size == 0:
        raise invalid("file", "文件中没有可通行的道路", "the file has no usable (driveable) ways")
    if not (np.all(np.isfinite(seg.lon)) and np.all(np.isfinite(seg.lat))):
        raise invalid("file", "道路坐标含有非数值", "road coordinates contain non-finite values")
    u, v = seg.u.astype(np.int64), seg.v.astype(np.int64)
    length = haversine_m(seg.lon[u], seg.lat[u], seg.lon[v], seg.lat[v])
    cost = np.maximum(length / (np.asarray(seg.speed_kmh, float) / 3.6), _MIN_COST_S)
    fwd, bwd = seg.oneway >= 0, seg.oneway <= 0
    src = np.concatenate([u[fwd], v[bwd]])
    dst = np.concatenate([v[fwd], u[bwd]])
    cost_all = np.concatenate([cost[fwd], cost[bwd]])
    len_all = np.concatenate([length[fwd], length[bwd]])
    keep = src != dst
    src, dst, cost_all, len_all = src[keep], dst[keep], cost_all[keep], len_all[keep]
    src, dst, cost_all, len_all = _cheapest_parallel(n, src, dst, cost_all, len_all)
    # int32 indices: scipy's csgraph converts anything else on every call
    index_type = np.int32 if src.size < 2**31 and n < 2**31 else np.int64
    indptr = np.zeros(n + 1, dtype=index_type)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    dst = dst.astype(index_type)
    forward = csr_matrix((cost_all, dst, indptr), shape=(n, n))
    length_m = csr_matrix((len_all, dst.copy(), indptr.copy()), shape=(n, n))
    origin = (float(np.mean(seg.lon)), float(np.mean(seg.lat)))
    ids = seg.node_ids if seg.node_ids is not None else np.arange(n, dtype=np.int64)
    snap_xy, snap_node = _snap_points(
        local_xy(seg.lon, seg.lat, origin), src, dst.astype(np.int64), len_all
    )
    # unbalanced, uncompacted: builds ~5x faster on 1M points for a few % slower queries
    tree = cKDTree(snap_xy, balanced_tree=False, compact_nodes=False)
    return RoadGraph(
        lon=seg.lon,
        lat=seg.lat,
        node_ids=ids,
        forward=forward,
        backward=forward.T.tocsr(),
        length_m=length_m,
        report=report,
        origin=origin,
        tree=tree,
        snap_xy=snap_xy,
        snap_node=snap_node,
    )


def _snap_points(
    xy: np.ndarray, src: np.ndarray, dst: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes, plus points every SNAP_SAMPLE_M inside longer edges (owned by the nearer end)."""
    long = (length > SNAP_SAMPLE_M) & ((src < dst) | ~_has_reverse(src, dst))
    u, v = src[long], dst[long]
    pieces = np.ceil(length[long] / SNAP_SAMPLE_M).astype(np.int64)
    edge = np.repeat(np.arange(u.size), pieces - 1)
    step = np.arange(edge.size) - np.repeat(np.cumsum(pieces - 1) - (pieces - 1), pieces - 1) + 1
    t = step / pieces[edge]
    samples = xy[u[edge]] + (xy[v[edge]] - xy[u[edge]]) * t[:, None]
    owner = np.where(t < 0.5, u[edge], v[edge])
    return (
        np.vstack([xy, samples]),
        np.concatenate([np.arange(xy.shape[0], dtype=np.int64), owner]),
    )


def _has_reverse(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Per edge: does the opposite edge exist too (then sample the pair once)."""
    n = int(max(src.max(), dst.max())) + 1
    keys = np.sort(src * n + dst)
    want = dst * n + src
    pos = np.minimum(np.searchsorted(keys, want), keys.size - 1)
    return np.asarray(keys[pos] == want, dtype=bool)


def _cheapest_parallel(
    n: int, src: np.ndarray, dst: np.ndarray, cost: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Edges sorted by (row, column), one per pair: the cheapest of parallel ways."""
    key = src * n + dst
    order = np.argsort(key)  # one int64 sort: much faster than a 3-key lexsort
    key, cost, length = key[order], cost[order], length[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    if not first.all():
        group = np.cumsum(first) - 1
        starts = np.flatnonzero(first)
        cheapest = np.minimum.reduceat(cost, starts)
        is_min = cost == cheapest[group]
        _, pick = np.unique(group[is_min], return_index=True)
        chosen = np.flatnonzero(is_min)[pick]
        key, cost, length = key[chosen], cost[chosen], length[chosen]
    return key // n, key % n, cost, length


# --- tags ---------------------------------------------------------------------------------------


def parse_maxspeed(value: Any) -> float | None:
    """km/h from an OSM maxspeed ('50', '30 mph', '60;40' → first); None when not a number."""
    if value is None:
        return None
    text = str(value).split(";")[0]
    m = _MAXSPEED.match(text)
    if not m:
        return None
    kmh = float(m.group(1)) * _UNIT_FACTOR[(m.group(2) or "").lower()]
    return kmh if kmh > 0 else None


class _WayCollector:
    """Accumulates ways (vertex keys, coordinates, tags) into Segments with one report."""

    def __init__(self, speeds: Mapping[str, float] | None) -> None:
        self.speeds = dict(DEFAULT_SPEEDS_KMH if speeds is None else speeds)
        if any(not (float(s) > 0) for s in self.speeds.values()):
            raise invalid("speeds", "默认车速必须为正数", "default speeds must be positive")
        self.report = BuildReport()
        self.index: dict[Any, int] = {}
        self.lon: list[float] = []
        self.lat: list[float] = []
        self.keys: list[Any] = []
        self.u: list[int] = []
        self.v: list[int] = []
        self.speed: list[float] = []
        self.oneway: list[int] = []

    def add(
        self, keys: Sequence[Any], coords: Sequence[tuple[float, float]], tags: Mapping[str, Any]
    ) -> None:
        for key in tags:
            if key not in ROUTING_TAGS:
                self.report.ignored_tags[str(key)] += 1
        highway = tags.get("highway")
        if highway is None:
            self.report.ways_skipped["no highway tag"] += 1
            return
        if highway not in self.speeds:
            self.report.ways_skipped[f"highway={highway}"] += 1
            return
        direction = self._direction(tags)
        if direction is None:
            self.report.ways_skipped["oneway=reversible"] += 1
            return
        if len(keys) < 2:
            self.report.ways_skipped["fewer than 2 nodes"] += 1
            return
        speed = parse_maxspeed(tags.get("maxspeed"))
        if speed is None:
            if tags.get("maxspeed") is not None:
                self.report.maxspeed_unparsed += 1
            speed = float(self.speeds[highway])
        nodes = [self._node(k, c) for k, c in zip(keys, coords, strict=True)]
        self.u.extend(nodes[:-1])
        self.v.extend(nodes[1:])
        self.speed.extend([speed] * (len(nodes) - 1))
        self.oneway.extend([direction] * (len(nodes) - 1))
        self.report.ways_used += 1

    def _direction(self, tags: Mapping[str, Any]) -> int | None:
        raw = tags.get("oneway")
        value = str(raw).strip().lower() if raw is not None else None
        if value in _ONEWAY_FORWARD:
            return 1
        if value in _ONEWAY_BACKWARD:
            return -1
        if value in _CLOSED:
            return None
        if value is not None and value not in _TWO_WAY:
            self.report.oneway_unknown += 1
        implied = (
            tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway"
        )
        return 1 if implied and value not in _TWO_WAY else 0

    def _node(self, key: Any, coord: tuple[float, float]) -> int:
        idx = self.index.get(key)
        if idx is None:
            idx = self.index[key] = len(self.lon)
            self.lon.append(coord[0])
            self.lat.append(coord[1])
            self.keys.append(key)
        return idx

    def graph(self, numeric_ids: bool) -> RoadGraph:
        ids = (
            np.asarray(self.keys, dtype=np.int64)
            if numeric_ids
            else np.arange(len(self.keys), dtype=np.int64)
        )
        seg = Segments(
            lon=np.asarray(self.lon, float),
            lat=np.asarray(self.lat, float),
            u=np.asarray(self.u, np.int64),
            v=np.asarray(self.v, np.int64),
            speed_kmh=np.asarray(self.speed, float),
            oneway=np.asarray(self.oneway, np.int8),
            node_ids=ids,
        )
        if seg.u.size == 0:
            raise invalid(
                "file",
                "文件中没有可通行的道路（跳过：" + _skips(self.report) + "）",
                "the file has no usable (driveable) ways (skipped: " + _skips(self.report) + ")",
            )
        return build_graph(seg, self.report)


def _skips(report: BuildReport) -> str:
    return ", ".join(f"{k} ×{n}" for k, n in report.ways_skipped.most_common(5)) or "none"


# --- GeoJSON ------------------------------------------------------------------------------------


def from_geojson(
    source: str | Path | Mapping[str, Any], speeds: Mapping[str, float] | None = None
) -> RoadGraph:
    """A FeatureCollection of LineStrings/MultiLineStrings whose properties are OSM tags."""
    data = _load_json(source) if not isinstance(source, Mapping) else source
    features = data.get("features") if data.get("type") == "FeatureCollection" else None
    if not isinstance(features, list):
        raise invalid("file", "不是 GeoJSON FeatureCollection", "not a GeoJSON FeatureCollection")
    collector = _WayCollector(speeds)
    for i, feature in enumerate(features):
        geometry = (feature or {}).get("geometry") or {}
        tags = (feature or {}).get("properties") or {}
        kind = geometry.get("type")
        if kind not in ("LineString", "MultiLineString"):
            collector.report.ways_skipped[f"geometry {kind}"] += 1
            continue
        parts = (
            [geometry.get("coordinates")] if kind == "LineString" else geometry.get("coordinates")
        )
        for part in parts if isinstance(parts, list) else [None]:
            coords = _line_coords(part, i)
            keys = [(round(x, 7), round(y, 7)) for x, y in coords]
            collector.add(keys, coords, tags)
    return collector.graph(numeric_ids=False)


def _load_json(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise invalid("file", f"无法读取 GeoJSON：{exc}", f"cannot read GeoJSON: {exc}") from exc
    if not isinstance(data, dict):
        raise invalid("file", "不是 GeoJSON 对象", "not a GeoJSON object")
    return data


def _line_coords(part: Any, i: int) -> list[tuple[float, float]]:
    """Validated [(lon, lat), …]; broken geometry names the feature."""
    where = f"features[{i}].geometry"
    try:
        coords = [(float(p[0]), float(p[1])) for p in part]
    except (TypeError, ValueError, IndexError) as exc:
        raise invalid(
            where, f"第 {i + 1} 条线的坐标格式错误", f"feature {i}: malformed coordinates"
        ) from exc
    if len(coords) < 2:
        raise invalid(where, f"第 {i + 1} 条线少于两个点", f"feature {i}: fewer than 2 positions")
    for x, y in coords:
        if not (math.isfinite(x) and math.isfinite(y) and abs(x) <= 180 and abs(y) <= 90):
            raise invalid(
                where,
                f"第 {i + 1} 条线的坐标超出经纬度范围",
                f"feature {i}: coordinate ({x}, {y}) outside lon/lat range",
            )
    return coords


# --- OpenStreetMap (.osm / .osm.pbf) ------------------------------------------------------------


def from_osm(path: str | Path, speeds: Mapping[str, float] | None = None) -> RoadGraph:
    """An OSM extract read with pyosmium; a way is split where a node has no location."""
    import osmium  # noqa: PLC0415 pyosmium loaded only when an OSM extract is read; imported here: only OSM imports need the C++ extension

    path = Path(path)
    if not path.is_file():
        raise invalid("file", f"文件不存在：{path.name}", f"file not found: {path.name}")
    collector = _WayCollector(speeds)
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            if isinstance(way, osmium.osm.Way):
                _add_osm_way(collector, way)
    except RuntimeError as exc:  # libosmium's parse errors surface as RuntimeError
        raise invalid("file", f"无法读取 OSM 文件：{exc}", f"cannot read OSM file: {exc}") from exc
    return collector.graph(numeric_ids=True)


def _add_osm_way(collector: _WayCollector, way: Any) -> None:
    tags = {t.k: t.v for t in way.tags}
    runs: list[tuple[list[int], list[tuple[float, float]]]] = [([], [])]
    for node in way.nodes:
        if node.location.valid():
            runs[-1][0].append(node.ref)
            runs[-1][1].append((node.location.lon, node.location.lat))
        elif runs[-1][0]:
            runs.append(([], []))  # clipped extract: continue after the missing node
    for keys, coords in runs:
        if len(keys) >= 2:
            collector.add(keys, coords, tags)
    if len(runs) > 1:
        collector.report.ways_skipped["split at nodes without location"] += 1


def load(path: str | Path, speeds: Mapping[str, float] | None = None) -> RoadGraph:
    """By extension: .geojson/.json → GeoJSON, .osm/.pbf/.osm.pbf/.osm.bz2 → OSM."""
    name = str(path).lower()
    if name.endswith((".geojson", ".json")):
        return from_geojson(path, speeds)
    if name.endswith((".pbf", ".osm", ".osm.bz2", ".osm.gz")):
        return from_osm(path, speeds)
    raise invalid(
        "file",
        "只支持 .osm.pbf、.osm 或 GeoJSON 道路文件",
        "only .osm.pbf, .osm or GeoJSON road files are supported",
    )


def segments_of(
    lines: Iterable[tuple[Sequence[tuple[float, float]], Mapping[str, Any]]],
) -> dict[str, Any]:
    """A FeatureCollection from (coords, tags) pairs: the test and demo helper for GeoJSON."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": dict(tags),
                "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]},
            }
            for coords, tags in lines
        ],
    }
