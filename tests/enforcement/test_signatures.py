"""Hand-drawn signatures on the 现场检查记录: refused when blank, not a PNG or too large; stored
with the record; drawn into the record's DOCX and the case file's PDF."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import zipfile

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from safecity.core.config import get_settings
from safecity.core.errors import Invalid
from safecity.enforcement import casework, fieldwork, inspecting, issuing, signatures
from safecity.enforcement.models import Document, Inspection
from tests.conftest import NOW, login, principal


def png(draw: bool = True, size: tuple[int, int] = (600, 200), fmt: str = "PNG") -> bytes:
    img = Image.new("RGBA", size, (0, 0, 0, 0))  # a canvas: transparent until drawn on
    if draw:
        ImageDraw.Draw(img).line(
            [(20, 150), (120, 40), (220, 160), (400, 60)], (17, 17, 17, 255), 4
        )
    buf = io.BytesIO()
    (img if fmt == "PNG" else img.convert("RGB")).save(buf, fmt)
    return buf.getvalue()


def url(content: bytes) -> str:
    return signatures.PREFIX + base64.b64encode(content).decode()


@pytest.fixture
def storage(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAFECITY_STORAGE_DIR", str(tmp_path / "storage"))
    get_settings.cache_clear()
    yield tmp_path / "storage"
    monkeypatch.undo()
    get_settings.cache_clear()


def test_check_refuses_what_is_not_a_signature() -> None:
    good = png()
    assert signatures.check(url(good), "f", "甲", "a") == (good, None)
    white = Image.new("RGB", (600, 200), "white")  # opaque but blank: no ink either
    buf = io.BytesIO()
    white.save(buf, "PNG")
    noise = Image.frombytes("RGBA", (400, 400), random.Random(1).randbytes(400 * 400 * 4))
    big = io.BytesIO()
    noise.save(big, "PNG")
    assert len(big.getvalue()) > signatures.MAX_BYTES
    dot = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    dot.putpixel((5, 5), (0, 0, 0, 255))  # a single tap is not a signature
    tap = io.BytesIO()
    dot.save(tap, "PNG")
    for value, words in [
        ("", "not signed"),
        (url(png(draw=False)), "empty"),
        (url(buf.getvalue()), "empty"),
        (url(tap.getvalue()), "empty"),
        (url(png(fmt="JPEG")), "PNG"),  # a JPEG behind a PNG data URL
        ("data:image/jpeg;base64," + base64.b64encode(png()).decode(), "PNG"),
        (signatures.PREFIX + "not base64!", "PNG"),
        (url(b"\x89PNG\r\n\x1a\n" + b"broken"), "PNG"),
        (url(big.getvalue()), "larger than 200 KB"),
        (url(png(size=(2400, 300))), "2000 px"),
    ]:
        content, error = signatures.check(value, "signatures.party", "现场负责人", "party")
        assert content is None and error is not None, words
        assert error.field == "signatures.party" and words in error.en, (words, error.en)
        assert error.zh.startswith("现场负责人签名：")


@pytest.fixture
def inspection(session, enf):  # type: ignore[no-untyped-def]
    pool, ent = enf["pool"], enf["enterprises"][0]
    i = inspecting.create_inspection(
        session,
        principal(session, "zhifu"),
        {"enterprise_id": ent.id, "inspector_ids": [pool["insp2"], pool["insp3"]]},
        NOW,
    )
    session.commit()
    return i, pool


def test_signed_record_in_docx_and_case_file(session, enf, inspection, storage) -> None:  # type: ignore[no-untyped-def]
    i, pool = inspection
    insp2 = principal(session, "insp2")
    marks = {str(pool["insp2"]): png(), str(pool["insp3"]): png(size=(500, 180))}
    party = png(size=(640, 220))
    # one inspector not signed and the party's pad blank: both said at once, nothing written
    with pytest.raises(Invalid) as exc:
        fieldwork.finish_inspection(
            session,
            insp2,
            i.id,
            {
                "party_present": "张厂长",
                "signatures": {
                    str(pool["insp2"]): url(marks[str(pool["insp2"])]),
                    "party": url(png(False)),
                },
            },
            NOW,
        )
    assert [e.field for e in exc.value.errors] == [
        f"signatures.{pool['insp3']}",
        "signatures.party",
    ]
    session.rollback()
    assert session.get(Inspection, i.id).status != "done"
    assert session.query(Document).count() == 0 and not (storage / "enforcement").exists()

    fieldwork.add_finding(
        session,
        insp2,
        i.id,
        {
            "kind": "violation",
            "violation": "training",
            "circumstance": "ordinary",
            "description": "未培训上岗",
        },
        [],
        NOW,
    )
    fieldwork.finish_inspection(
        session,
        insp2,
        i.id,
        {
            "party_present": "张厂长",
            "signatures": {**{k: url(v) for k, v in marks.items()}, "party": url(party)},
        },
        NOW,
    )
    session.commit()
    i = session.get(Inspection, i.id)
    stored = {x["key"]: x for x in i.signatures["images"]}
    assert set(stored) == {*marks, "party"} and stored["party"]["name"] == "张厂长"
    for key, content in [*marks.items(), ("party", party)]:
        assert stored[key]["sha256"] == hashlib.sha256(content).hexdigest()
        assert signatures.read(stored[key]["png"]) == content

    record = session.query(Document).filter_by(kind="inspection_record").one()
    assert [s[1] for s in record.content["signatures"]] == ["执法insp2", "执法insp3", "张厂长"]
    with zipfile.ZipFile(io.BytesIO(issuing.docx_of(session, record))) as z:
        media = [z.read(n) for n in z.namelist() if n.startswith("word/media/")]
    assert sorted(media) == sorted([*marks.values(), party])

    case_id = next(f.case_id for f in inspecting.findings_of(session, i.id) if f.case_id)
    pdf = PdfReader(io.BytesIO(casework.case_file(session, principal(session, "zhifu"), case_id)))
    page = next(
        p for p in pdf.pages if "现场检查记录" in p.extract_text() and "签名：" in p.extract_text()
    )
    sizes = sorted(im.image.size for im in page.images)
    assert sizes == sorted(Image.open(io.BytesIO(c)).size for c in [*marks.values(), party])
    assert "被检查单位现场负责人签名：张厂长" in page.extract_text()


def test_api_finish_refuses_a_blank_pad(client, session, inspection, storage) -> None:  # type: ignore[no-untyped-def]
    i, pool = inspection
    headers = login(client, "insp2")
    body = {
        "party_present": "张厂长",
        "signatures": {
            str(pool["insp2"]): url(png()),
            str(pool["insp3"]): url(png()),
            "party": url(png(False)),
        },
    }
    r = client.post(f"/api/v1/enforcement/inspections/{i.id}/finish", json=body, headers=headers)
    assert r.status_code == 422 and "signatures.party" in r.text
    body["signatures"]["party"] = url(png())
    r = client.post(f"/api/v1/enforcement/inspections/{i.id}/finish", json=body, headers=headers)
    assert r.status_code == 200, r.text
    name = r.json()["signatures"]["images"][-1]["png"]
    got = client.get(f"/api/v1/enforcement/inspections/{i.id}/signatures/{name}", headers=headers)
    assert got.status_code == 200 and got.content == png()
    for who in ("laishan", "lsinsp"):  # another district's officer and inspector
        path = f"/api/v1/enforcement/inspections/{i.id}/signatures/{name}"
        assert client.get(path, headers=login(client, who)).status_code == 404
    other = client.get(
        f"/api/v1/enforcement/inspections/{i.id}/signatures/{'0' * 64}.png", headers=headers
    )
    assert other.status_code == 404
