"""Photo uploads of hidden dangers: size/type checked by content, stored under generated names
with a thumbnail, outside the database (SAFECITY_STORAGE_DIR/hazards)."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from safecity.core.config import get_settings
from safecity.core.errors import invalid

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTOS = 6
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
THUMB_SIZE = (360, 360)
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MEDIA = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")


def root() -> Path:
    return Path(get_settings().storage_dir) / "hazards"


def path_of(name: str, thumb: bool = False) -> Path | None:
    """The stored file for a generated name; None for anything that is not one of ours."""
    if not NAME.fullmatch(name):
        return None
    stem = name.rsplit(".", 1)[0]
    folder = root() / name[:2]
    return folder / (f"{stem}.thumb.jpg" if thumb else name)


def check_image(content: bytes, field: str = "photos") -> str:
    """The file's real type (from its bytes, not its name or header), or 422."""
    if len(content) > MAX_PHOTO_BYTES:
        raise invalid(
            field,
            f"照片：单张不能超过 {MAX_PHOTO_BYTES // 1048576} MB",
            f"photo: larger than {MAX_PHOTO_BYTES // 1048576} MB",
        )
    try:
        with Image.open(io.BytesIO(content)) as img:
            fmt = img.format or ""
            if img.width * img.height > MAX_PIXELS:
                raise invalid(field, "照片：像素过大", "photo: too many pixels")
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise invalid(
            field,
            "照片：不是有效的图片（仅支持 JPEG、PNG、WebP）",
            "photo: not a valid image (JPEG, PNG or WebP only)",
        ) from None
    if fmt not in FORMATS:
        raise invalid(field, "照片：仅支持 JPEG、PNG、WebP", "photo: JPEG, PNG or WebP only")
    return FORMATS[fmt]


def save_image(content: bytes, field: str = "photos") -> str:
    """Store a checked image and its thumbnail; returns the generated file name."""
    ext = check_image(content, field)
    name = f"{uuid.uuid4().hex}.{ext}"
    target = path_of(name)
    assert target is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    with Image.open(io.BytesIO(content)) as img:
        img = img.convert("RGB")
        img.thumbnail(THUMB_SIZE)
        thumb = path_of(name, thumb=True)
        assert thumb is not None
        img.save(thumb, "JPEG", quality=80)
    return name


def save_all(contents: list[bytes], field: str = "photos") -> list[str]:
    if len(contents) > MAX_PHOTOS:
        raise invalid(field, f"照片：最多 {MAX_PHOTOS} 张", f"photos: at most {MAX_PHOTOS}")
    for content in contents:  # check every file before storing any
        check_image(content, field)
    return [save_image(c, field) for c in contents]
