"""Telemetry payloads → arrays of readings and a list of rejections with reasons (pure logic).

Payload (MQTT message body or HTTP body / NDJSON line):
  {"token": "…", "ts": 1764000000000 | "2026-11-23T09:00:00+08:00", "value": 12.5,
   "quantity": "gas_concentration", "lon": 121.4, "lat": 37.5}
or a batch of one device's readings:
  {"token": "…", "readings": [{"ts": …, "value": …}, …]}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import operator
import re
import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import orjson

MAX_MESSAGE_BYTES = 256 * 1024
MAX_READINGS_PER_MESSAGE = 10_000
FUTURE_LIMIT_MS = 5 * 60 * 1000
PAYLOAD_KEEP_CHARS = 2000

REASONS = {
    "malformed_json": ("JSON 格式错误", "malformed JSON"),
    "invalid_payload": ("数据字段不符合格式", "payload fields invalid"),
    "unknown_device": ("未登记的设备", "unknown device"),
    "bad_credential": ("设备凭据错误", "wrong device credential"),
    "device_disabled": ("设备已停用", "device disabled"),
    "non_finite": ("数值为 NaN 或无穷大", "NaN or infinite value"),
    "future_timestamp": ("时间戳超前 5 分钟以上", "timestamp more than 5 minutes ahead"),
    "too_old": ("时间戳早于保留期限", "timestamp older than the retention window"),
    "oversized": ("消息过大", "payload too large"),
    "wrong_quantity": ("物理量与设备类型不符", "quantity does not match the device type"),
}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A device's credential: shown once when issued, only its hash is stored."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Device:
    device_id: str
    sensor_id: int
    token_hash: str
    quantity: str
    active: bool = True


@dataclass(frozen=True)
class Rejection:
    reason: str
    device_id: str | None
    detail: str
    payload: str


@dataclass
class Decoded:
    sensor_ids: np.ndarray
    ts: np.ndarray
    values: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    rejected: list[Rejection] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sensor_ids)


class Credentials:
    """Checks a device's token; remembers good pairs so the hot path costs one dict lookup."""

    def __init__(self) -> None:
        self._ok: dict[tuple[str, str], str] = {}

    def all_known(self, devices: list[Device], tokens: list[object]) -> bool:
        """True when every (device, token) pair was checked good before and still is."""
        ok = self._ok
        try:
            return all(
                ok.get((d.device_id, t)) == d.token_hash
                for d, t in zip(devices, tokens, strict=True)
            )
        except TypeError:  # an unhashable token (a list, say): the full check refuses it
            return False

    def check(self, device: Device, token: object) -> bool:
        if not isinstance(token, str) or not device.token_hash:
            return False
        key = (device.device_id, token)
        known = self._ok.get(key)
        if known is not None:
            return known == device.token_hash
        good = hmac.compare_digest(hash_token(token), device.token_hash)
        if good:
            if len(self._ok) > 1_000_000:
                self._ok.clear()
            self._ok[key] = device.token_hash
        return good


MASK = "***"
# The value after a credential-like key, in JSON, Python repr or key=value text, also when the
# text was cut off inside it (a dead letter keeps at most PAYLOAD_KEEP_CHARS).
_SECRET_VALUE = re.compile(
    r"""(?ix)
    (["']?[\w-]*(?:token|passw|pwd|secret|api[_-]?key|auth|credential|signature)[\w-]*["']?
     \s*[:=]\s*)
    ("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^\s,;}\]&]+)"""
)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;}]+")
_WORDS = re.compile(r"[^\s\"',:;{}\[\]=()]{6,256}")


def redact(text: str, token_hashes: Collection[str] = ()) -> str:
    """The text of a dead letter without credentials: values of token/password/secret-like
    keys masked, and any word that is a registered device's token (by its hash) wherever it
    stands. Dead letters are readable by operators; device tokens are stored only as hashes."""
    text = _SECRET_VALUE.sub(lambda m: m.group(1) + _masked(m.group(2)), text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    if token_hashes:
        text = _WORDS.sub(
            lambda m: MASK if hash_token(m.group(0)) in token_hashes else m.group(0), text
        )
    return text


def _masked(value: str) -> str:
    quote = value[:1] if value[:1] in "\"'" else ""
    return f"{quote}{MASK}{quote}"


def _text(raw: bytes | str | dict) -> str:
    if isinstance(raw, dict):
        raw = orjson.dumps(raw, option=orjson.OPT_SERIALIZE_NUMPY)
    if isinstance(raw, bytes):
        raw = raw[: PAYLOAD_KEEP_CHARS * 4].decode("utf-8", "replace")
    return raw[:PAYLOAD_KEEP_CHARS]


def _loads(raw: bytes | str) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # Python's own encoder writes NaN/Infinity; parse it so the reason is "non_finite".
        return json.loads(raw)


_TS_LIMIT = 2**62  # epoch ms far beyond any real clock, and inside int64


def parse_ts(value: object) -> int | None:
    """Epoch milliseconds, or ISO 8601 with a UTC offset; None when neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < _TS_LIMIT else None
    if isinstance(value, float) and math.isfinite(value):
        return int(value) if abs(value) < _TS_LIMIT else None
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return None
        if stamp.tzinfo is None:
            return None
        return int(stamp.timestamp() * 1000)
    return None


class Decoder:
    """Turns raw messages into validated arrays; every failure is a counted Rejection."""

    def __init__(self, devices: Mapping[str, Device], retention_days: float = 400) -> None:
        self.devices = devices
        self.retention_ms = int(retention_days * 86_400_000)
        self.credentials = Credentials()

    def decode(
        self,
        messages: Iterable[tuple[str | None, bytes | str | dict]],
        now_ms: int,
        *,
        trusted: bool = False,
        max_bytes: int = MAX_MESSAGE_BYTES,
    ) -> Decoded:
        """messages: (device id from the topic or the HTTP token, body or already parsed body).

        trusted=True when the caller already authenticated the device (HTTP token, broker ACL).
        """
        if not isinstance(messages, list):
            messages = list(messages)
        if len(messages) >= 16:
            singles = self._singles(messages, now_ms, trusted, max_bytes)
            if singles is not None:
                return singles
        sids: list[int] = []
        tss: list[int] = []
        vals: list[float] = []
        lons: list[float] = []
        lats: list[float] = []
        owners: list[str] = []
        rejected: list[Rejection] = []
        chunks: list[_Chunk] = []  # in message order: runs of the lists above, uniform batches
        nan = math.nan
        for device_id, raw in messages:
            if isinstance(raw, dict):
                obj: object = raw
            elif len(raw) > max_bytes:
                rejected.append(
                    Rejection("oversized", device_id, f"{len(raw)} bytes", _text(raw[:200]))
                )
                continue
            else:
                try:
                    obj = _loads(raw)
                except (ValueError, RecursionError):
                    rejected.append(Rejection("malformed_json", device_id, "", _text(raw)))
                    continue
            if not isinstance(obj, dict):
                rejected.append(
                    Rejection("invalid_payload", device_id, "not an object", _text(raw))
                )
                continue
            device = self.devices.get(device_id) if device_id else None
            if device is None:
                rejected.append(Rejection("unknown_device", device_id, "", _text(raw)))
                continue
            if not trusted and not self.credentials.check(device, obj.get("token")):
                rejected.append(Rejection("bad_credential", device_id, "", _text(raw)))
                continue
            if not device.active:
                rejected.append(Rejection("device_disabled", device_id, "", _text(raw)))
                continue
            items = obj.get("readings")
            if items is None:
                items = (obj,)
            elif not isinstance(items, list) or len(items) > MAX_READINGS_PER_MESSAGE:
                rejected.append(
                    Rejection(
                        "invalid_payload",
                        device_id,
                        "readings must be a list of at most 10000",
                        _text(raw),
                    )
                )
                continue
            sid = device.sensor_id
            uniform = _uniform(items) if len(items) > 16 else None
            if uniform is not None:  # a gateway's plain batch: no per-reading Python
                if sids:
                    chunks.append(_Chunk.of(sids, tss, vals, lons, lats, owners))
                    sids, tss, vals, lons, lats, owners = [], [], [], [], [], []
                chunks.append(_Chunk.uniform(sid, device_id or "", *uniform))
                continue
            for item in items:
                value = item.get("value") if isinstance(item, dict) else None
                ts = parse_ts(item.get("ts")) if isinstance(item, dict) else None
                if ts is None or not isinstance(value, int | float) or isinstance(value, bool):
                    rejected.append(
                        Rejection(
                            "invalid_payload",
                            device_id,
                            "ts and a numeric value are required",
                            _text(str(item)),
                        )
                    )
                    continue
                quantity = item.get("quantity")
                if quantity is not None and quantity != device.quantity:
                    rejected.append(
                        Rejection(
                            "wrong_quantity",
                            device_id,
                            f"{quantity} ≠ {device.quantity}",
                            _text(str(item)),
                        )
                    )
                    continue
                lon, lat = item.get("lon"), item.get("lat")
                sids.append(sid)
                tss.append(ts)
                vals.append(_as_float(value))
                lons.append(float(lon) if isinstance(lon, int | float) else nan)
                lats.append(float(lat) if isinstance(lat, int | float) else nan)
                owners.append(device_id or "")
        if sids or not chunks:
            chunks.append(_Chunk.of(sids, tss, vals, lons, lats, owners))
        return self._checked(chunks, rejected, now_ms)

    def _singles(
        self,
        messages: list[tuple[str | None, bytes | str | dict]],
        now_ms: int,
        trusted: bool,
        max_bytes: int,
    ) -> Decoded | None:
        """Many single-reading messages of the plain shape {"token", "ts", "value"} from known,
        active devices with tokens seen before, as field sensors send them over MQTT: checked
        with a few passes in C instead of a Python loop per message. None as soon as anything
        differs; the message-by-message path then decides (and rejects) exactly as always."""
        ids = [m[0] for m in messages]
        raws = [m[1] for m in messages]
        if set(map(type, raws)) != {bytes} or max(map(len, raws)) > max_bytes:
            return None
        try:
            objs = orjson.loads(b"[" + b",".join(raws) + b"]")
        except orjson.JSONDecodeError:
            return None
        sizes = set(map(len, objs))  # ts, value and (unless trusted) token: nothing else
        if (
            len(objs) != len(raws)
            or set(map(type, objs)) != {dict}
            or sizes not in ([{2}, {3}] if trusted else [{3}])
        ):
            return None
        try:
            ts = [o["ts"] for o in objs]
            values = [o["value"] for o in objs]
            tokens = [o["token"] for o in objs] if sizes == {3} else None
        except KeyError:
            return None
        if set(map(type, ts)) != {int} or not set(map(type, values)) <= _PLAIN_VALUE:
            return None
        devices = list(map(self.devices.get, ids))
        if None in devices or not all(d.active for d in devices):  # type: ignore[union-attr]
            return None
        if not trusted and not self.credentials.all_known(devices, tokens or []):
            return None
        try:
            chunk = _Chunk(
                np.array([d.sensor_id for d in devices], np.int64),  # type: ignore[union-attr]
                np.array(ts, np.int64),
                np.array(values, np.float64),
                np.full(len(ts), np.nan),
                np.full(len(ts), np.nan),
                ids,
            )
        except OverflowError:
            return None
        return self._checked([chunk], [], now_ms)

    def _redacted(self, rejected: list[Rejection]) -> list[Rejection]:
        hashes = {d.token_hash for d in self.devices.values() if d.token_hash}
        return [
            replace(r, payload=redact(r.payload, hashes), detail=redact(r.detail, hashes))
            for r in rejected
        ]

    def _checked(self, chunks: list[_Chunk], rejected: list[Rejection], now_ms: int) -> Decoded:
        whole = chunks[0] if len(chunks) == 1 else _Chunk.joined(chunks)
        sid, ts, val, lon, lat = whole.sid, whole.ts, whole.val, whole.lon, whole.lat
        bad_value = ~np.isfinite(val)
        future = ts > now_ms + FUTURE_LIMIT_MS
        old = ts < now_ms - self.retention_ms
        bad = bad_value | future | old
        if bad.any():
            for k in np.flatnonzero(bad).tolist():
                reason = (
                    "non_finite" if bad_value[k] else "future_timestamp" if future[k] else "too_old"
                )
                t, v = int(ts[k]), float(val[k])
                rejected.append(
                    Rejection(
                        reason,
                        whole.owner(k),
                        f"ts={t} value={v}",
                        json.dumps({"ts": t, "value": v}),
                    )
                )
            ok = ~bad
            sid, ts, val, lon, lat = sid[ok], ts[ok], val[ok], lon[ok], lat[ok]
        if rejected:
            rejected = self._redacted(rejected)
        return Decoded(sid, ts, val, lon, lat, rejected)


def _as_float(value: float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond float64: as good as infinite
        return math.inf


@dataclass
class _Chunk:
    """Decoded readings of consecutive messages as arrays; owners: one device id per reading,
    or one for all (a uniform batch)."""

    sid: np.ndarray
    ts: np.ndarray
    val: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    owners: list[str] | str

    @classmethod
    def of(
        cls,
        sids: list[int],
        tss: list[int],
        vals: list[float],
        lons: list[float],
        lats: list[float],
        owners: list[str],
    ) -> _Chunk:
        return cls(
            np.array(sids, np.int64),
            np.array(tss, np.int64),
            np.array(vals, np.float64),
            np.array(lons, np.float64),
            np.array(lats, np.float64),
            owners,
        )

    @classmethod
    def uniform(cls, sid: int, owner: str, ts: np.ndarray, val: np.ndarray) -> _Chunk:
        nan = np.full(len(ts), np.nan)
        return cls(np.full(len(ts), sid, np.int64), ts, val, nan, nan.copy(), owner)

    @classmethod
    def joined(cls, chunks: list[_Chunk]) -> _Chunk:
        owners: list[str] = []
        for c in chunks:
            owners += [c.owners] * len(c.ts) if isinstance(c.owners, str) else c.owners
        return cls(
            *(
                np.concatenate([getattr(c, name) for c in chunks])
                for name in ("sid", "ts", "val", "lon", "lat")
            ),
            owners,
        )

    def owner(self, k: int) -> str:
        return self.owners if isinstance(self.owners, str) else self.owners[k]


_PLAIN_VALUE = {int, float}
_HAS_READINGS = operator.methodcaller("__contains__", "readings")


def _uniform(items: list) -> tuple[np.ndarray, np.ndarray] | None:
    """(ts, value) arrays when every item is exactly {"ts": epoch ms int, "value": number},
    as gateways send them; None otherwise (the item-by-item path then checks each one)."""
    if set(map(type, items)) != {dict} or set(map(len, items)) != {2}:
        return None
    try:
        ts = [item["ts"] for item in items]
        values = [item["value"] for item in items]
    except KeyError:
        return None
    # type() rather than isinstance: True is an int to isinstance, and must be refused.
    if set(map(type, ts)) != {int} or not set(map(type, values)) <= _PLAIN_VALUE:
        return None
    try:
        return np.array(ts, np.int64), np.array(values, np.float64)
    except OverflowError:
        return None


def ndjson_messages(device_id: str, body: bytes) -> list[tuple[str | None, bytes | dict]]:
    """An NDJSON body as decoder messages: parsed in one go into {"readings": [...]} batches
    when every line is valid JSON (one parser call instead of one per line), else line by line
    so that each bad line gets its own rejection and the good ones are kept."""
    lines = [line for line in body.splitlines() if line.strip()]
    try:
        items = orjson.loads(b"[" + b",".join(lines) + b"]")
    except orjson.JSONDecodeError:
        return [(device_id, line) for line in lines]
    # One reading object per line, none of them a batch (a line holding two objects separated
    # by a comma would parse here but not on its own: line by line decides).
    if (
        len(items) != len(lines)
        or set(map(type, items)) != {dict}
        or any(map(_HAS_READINGS, items))
    ):
        return [(device_id, line) for line in lines]
    step = MAX_READINGS_PER_MESSAGE
    return [(device_id, {"readings": items[k : k + step]}) for k in range(0, len(items), step)]
