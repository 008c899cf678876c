"""The one CJK font finder for generated documents (white paper, case files, reports): find an
embeddable TrueType Chinese font and subset it to the characters a document uses, so a PDF
embeds a few hundred glyphs instead of a 17 MB font."""

from __future__ import annotations

import hashlib
import io
import re
import struct
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from safecity.core.config import environ
from safecity.core.errors import SafeCityError


class FontUnavailable(SafeCityError):
    status = 500
    code = "font_unavailable"


# =========================================================================== fonts


@dataclass(frozen=True)
class FontSource:
    path: Path
    index: int  # face number inside a .ttc collection
    origin: str


# Debian/Ubuntu, Fedora, Windows and macOS places of CJK fonts with TrueType (glyf) outlines,
# which is what reportlab can embed; Noto CJK's .ttc files are CFF and are skipped.
SYSTEM_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf", 0),
    ("C:/Windows/Fonts/simhei.ttf", 0),
    ("C:/Windows/Fonts/simsun.ttc", 0),
    ("/Library/Fonts/Arial Unicode.ttf", 0),
)
FONT_ENV = "SAFECITY_CJK_FONT"  # path[:index] of a TrueType CJK font to use instead


def _package_font() -> Path | None:
    """Noto Sans SC as shipped by the pip package justmytype-intl-cjk (OFL-1.1)."""
    try:
        base = files("justmytype_intl_cjk")
    except (ImportError, ModuleNotFoundError):
        return None
    path = Path(str(base)) / "fonts" / "ofl" / "notosanssc" / "NotoSansSC[wght].ttf"
    return path if path.is_file() else None


def _usable(path: Path, index: int) -> bool:
    from fontTools.ttLib import TTFont, TTLibError  # noqa: PLC0415 fontTools loaded only when fonts are subset

    try:
        font = TTFont(str(path), fontNumber=index, lazy=True)
        ok = "glyf" in font and ord("安") in (font.getBestCmap() or {})
        font.close()
        return ok
    except (OSError, ValueError, KeyError, AssertionError, TTLibError, struct.error):
        return False


def find_font() -> FontSource:
    """The CJK font to embed, or FontUnavailable naming what to install."""
    env = environ(FONT_ENV).strip()
    if env:
        raw, _, idx = env.rpartition(":") if re.search(r":\d+$", env) else (env, "", "0")
        path = Path(raw)
        if path.is_file() and _usable(path, int(idx)):
            return FontSource(path, int(idx), FONT_ENV)
    package = _package_font()
    if package is not None:
        return FontSource(package, 0, "justmytype-intl-cjk")
    for raw, index in SYSTEM_FONTS:
        path = Path(raw)
        if path.is_file() and _usable(path, index):
            return FontSource(path, index, "system")
    raise FontUnavailable(
        "未找到可嵌入的中文字体，无法生成白皮书。请安装 pip 包 justmytype-intl-cjk，"
        "或 Debian 软件包 fonts-wqy-zenhei（apt-get install fonts-wqy-zenhei），"
        f"或用环境变量 {FONT_ENV} 指定一个 TrueType 中文字体文件。",
        "No embeddable Chinese font found, so the white paper cannot be generated. Install the "
        "pip package justmytype-intl-cjk, or the Debian package fonts-wqy-zenhei "
        f"(apt-get install fonts-wqy-zenhei), or point {FONT_ENV} at a TrueType CJK font file.",
    )


@dataclass(frozen=True)
class Fonts:
    """Regular and bold faces as TrueType bytes, subset to the document's characters."""

    regular: bytes
    bold: bytes
    key: str  # distinguishes this subset when registered with reportlab
    origin: str


# Always kept, so numbers, Latin text and the page furniture never fall out of the subset.
_BASE_CHARS = "".join(chr(c) for c in range(0x20, 0x7F)) + "第页共，。、；：（）“”《》—…·•▲　%"


@lru_cache(maxsize=16)
def _subset_fonts(path: str, index: int, chars: str, origin: str) -> Fonts:
    from fontTools import subset  # noqa: PLC0415 fontTools loaded only when fonts are subset
    from fontTools.ttLib import TTFont  # noqa: PLC0415 fontTools loaded only when fonts are subset

    def faces(key: str) -> list[tuple[str, bytes]]:
        font = TTFont(path, fontNumber=index)
        options = subset.Options()
        options.layout_features = []
        options.notdef_outline = True
        options.name_IDs = ["*"]
        options.hinting = False
        options.ignore_missing_unicodes = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        if "fvar" not in font:
            data = _save(font, f"{key}-Regular")
            return [("Regular", data), ("Bold", data)]
        from fontTools.varLib import instancer  # noqa: PLC0415 fontTools loaded only when fonts are subset

        buf = io.BytesIO()
        font.save(buf)
        out = []
        for style, weight in (("Regular", 400), ("Bold", 700)):
            face = TTFont(io.BytesIO(buf.getvalue()))
            axes = {a.axisTag: (a.minValue, a.maxValue) for a in face["fvar"].axes}
            location = {
                tag: (min(max(weight, lo), hi) if tag == "wght" else None)
                for tag, (lo, hi) in axes.items()
            }
            face = instancer.instantiateVariableFont(face, location)
            out.append((style, _save(face, f"{key}-{style}")))
        return out

    key = hashlib.sha1(f"{path}:{index}:{chars}".encode()).hexdigest()[:10]
    got = dict(faces(key))
    return Fonts(got["Regular"], got["Bold"], key, origin)


def _save(font: Any, style: str) -> bytes:
    # A PostScript name per subset and style: PDF viewers merge embedded fonts that share one,
    # and reportlab reuses the first font registered under a face name — one name for every
    # subset made a later document draw with an earlier document's glyphs (missing characters).
    ps = f"SafeCitySans{style}"
    for record in font["name"].names:
        if record.nameID == 6:
            record.string = ps
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def load_fonts(text: str) -> Fonts:
    source = find_font()
    chars = "".join(sorted(set(text) | set(_BASE_CHARS)))
    return _subset_fonts(str(source.path), source.index, chars, source.origin)
