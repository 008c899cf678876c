"""The electronic case file carries the inspection's photos: each one on its own page, listed in
the table of contents at the page it is on, with its finding as the caption."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from pypdf import PdfReader

from safecity.core.config import get_settings
from safecity.enforcement import casework, fieldwork, inspecting
from tests.conftest import NOW, principal


def _image(colour: tuple[int, int, int], size: tuple[int, int], fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


@pytest.fixture
def storage(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAFECITY_STORAGE_DIR", str(tmp_path / "storage"))
    get_settings.cache_clear()
    yield tmp_path / "storage"
    monkeypatch.undo()
    get_settings.cache_clear()


def test_photos_land_in_the_case_file(session, enf, storage) -> None:  # type: ignore[no-untyped-def]
    pool, ent = enf["pool"], enf["enterprises"][0]
    insp2 = principal(session, "insp2")
    i = inspecting.create_inspection(
        session,
        principal(session, "zhifu"),
        {"enterprise_id": ent.id, "inspector_ids": [pool["insp2"], pool["insp3"]]},
        NOW,
    )
    red = _image((220, 20, 20), (640, 480), "JPEG")
    blue = _image((20, 40, 220), (300, 200), "PNG")
    fieldwork.add_finding(
        session,
        insp2,
        i.id,
        {"kind": "hidden_danger", "description": "储罐区静电接地线断开"},
        [red],
        NOW,
    )
    f = fieldwork.add_finding(
        session,
        insp2,
        i.id,
        {
            "kind": "violation",
            "violation": "training",
            "circumstance": "ordinary",
            "description": "特种作业人员未经培训上岗",
        },
        [blue],
        NOW,
    )
    fieldwork.finish_inspection(session, insp2, i.id, {"party_present": "王经理"}, NOW)
    casework.take_step(session, principal(session, "head"), f.case_id, "file", {}, NOW)
    session.commit()
    assert len(list((storage / "hazards").rglob("*.jpg"))) >= 1  # stored on disk

    pdf = casework.case_file(session, principal(session, "zhifu"), f.case_id)
    reader = PdfReader(io.BytesIO(pdf))
    toc = reader.pages[0].extract_text()
    # contents: 现场检查记录, 责令限期整改指令书, 立案审批表, then the two photos in finding order
    # every glyph of the contents is in the embedded font subset (none drawn as a blank)
    assert "\x00" not in toc and "文书/材料" in toc
    entries = re.findall(
        r"(\d+)\n(现场检查记录|责令限期整改指令书|立案审批表|现场照片 \d)[^\n]*\n(\d+)", toc
    )
    assert [e[1] for e in entries] == [
        "现场检查记录",
        "责令限期整改指令书",
        "立案审批表",
        "现场照片 1",
        "现场照片 2",
    ]
    pages = {title: int(page) for _, title, page in entries}
    found = []
    for n, page in enumerate(reader.pages, 1):
        for img in page.images:
            pil = img.image
            found.append(
                (n, pil.size, pil.convert("RGB").getpixel((pil.width // 2, pil.height // 2)))
            )
    assert [(n, size) for n, size, _ in found] == [
        (pages["现场照片 1"], (640, 480)),
        (pages["现场照片 2"], (300, 200)),
    ]
    r, g, b = found[0][2]
    assert r > 180 and g < 60 and b < 60  # the red one (JPEG: close, not exact)
    assert found[1][2] == (20, 40, 220)  # the PNG exactly
    # each photo's page carries its finding as the caption, with who took it
    first = reader.pages[pages["现场照片 1"] - 1].extract_text()
    second = reader.pages[pages["现场照片 2"] - 1].extract_text()
    assert "储罐区静电接地线断开" in first and "insp2" in first
    assert "特种作业人员未经培训上岗" in second
