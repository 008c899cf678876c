"""Hand-drawn signatures (签名) on the 现场检查记录: a PNG data URL from the phone's signature pad,
checked (a PNG, not too large, not empty) and stored by its SHA-256 outside the database
(SAFECITY_STORAGE_DIR/enforcement/signatures), so a signed record names the exact image."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from safecity.core.config import get_settings
from safecity.core.errors import FieldError

PREFIX = "data:image/png;base64,"
MAX_BYTES = 200 * 1024  # a pad of 1,000 × 400 px with a signature is 10–40 KB
MAX_SIDE = 2000
# Ink: a pixel that is drawn (alpha) and dark; a signature has at least this many of them, so a
# blank pad, a white square or a single tap is refused.
MIN_INK = 40
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAME = re.compile(r"^[0-9a-f]{64}\.png$")


def root() -> Path:
    return Path(get_settings().storage_dir) / "enforcement" / "signatures"


def path_of(name: str) -> Path | None:
    """The stored file of a signature name; None for anything that is not one of ours."""
    return root() / name[:2] / name if NAME.fullmatch(name) else None


def read(name: str) -> bytes | None:
    path = path_of(name)
    return path.read_bytes() if path is not None and path.is_file() else None


def ink(img: Image.Image) -> int:
    """How many pixels are drawn and dark (alpha > 0, luminance < 160)."""
    rgba = img.convert("RGBA")
    alpha = rgba.getchannel("A").point(lambda a: 255 if a > 0 else 0)
    dark = rgba.convert("L").point(lambda v: 255 if v < 160 else 0)
    both = Image.composite(dark, Image.new("L", rgba.size, 0), alpha)
    return int(both.histogram()[255])


def check(
    value: object, field: str, who_zh: str, who_en: str
) -> tuple[bytes | None, FieldError | None]:
    """The PNG bytes of one signature, or the field error saying why it is refused."""

    def error(zh: str, en: str) -> tuple[None, FieldError]:
        return None, FieldError(field, f"{who_zh}签名：{zh}", f"{who_en} signature: {en}")

    text = str(value or "").strip()
    if not text:
        return error("尚未签名", "not signed")
    if not text.startswith(PREFIX):
        return error("应为 PNG 图片", "must be a PNG image")
    if len(text) > len(PREFIX) + (MAX_BYTES * 4) // 3 + 4:
        return error(f"图片不能超过 {MAX_BYTES // 1024} KB", f"larger than {MAX_BYTES // 1024} KB")
    try:
        content = base64.b64decode(text[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return error("应为 PNG 图片", "must be a PNG image")
    if len(content) > MAX_BYTES:
        return error(f"图片不能超过 {MAX_BYTES // 1024} KB", f"larger than {MAX_BYTES // 1024} KB")
    if not content.startswith(PNG_MAGIC):
        return error("应为 PNG 图片", "must be a PNG image")
    try:
        with Image.open(io.BytesIO(content)) as img:
            if img.format != "PNG" or max(img.size) > MAX_SIDE:
                return error("应为不超过 2000 像素的 PNG 图片", "must be a PNG of at most 2000 px")
            img.load()
            drawn = ink(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return error("应为 PNG 图片", "must be a PNG image")
    if drawn < MIN_INK:
        return error("签名为空，请手写签名", "empty: please sign by hand")
    return content, None


def save(content: bytes) -> tuple[str, str]:
    """Store a checked signature; returns (file name, SHA-256). The same image is stored once."""
    digest = hashlib.sha256(content).hexdigest()
    name = f"{digest}.png"
    path = path_of(name)
    assert path is not None
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
    return name, digest
