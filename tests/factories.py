"""Builders for small, fully known test data."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from safecity.core.models import User
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.registry.rules import uscc_check_char

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def uscc(county: str, serial: int, org_type: str = "91") -> str:
    body = f"{org_type}{county}MA{serial:07d}"
    return body + uscc_check_char(body)


def square(lon: float, lat: float, d: float = 0.05) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
        ],
    }


def seed_city(session: Session, password_hash: str) -> dict:
    divisions = [
        Division(
            code="370600",
            name="烟台市",
            name_en="Yantai",
            level="city",
            parent_code="370000",
            population=7_100_000,
            lon=121.0,
            lat=37.3,
            geometry=square(119.5, 36.5, 2.4),
        ),
        Division(
            code="370602",
            name="芝罘区",
            name_en="Zhifu",
            level="county",
            parent_code="370600",
            population=900_000,
            lon=121.4,
            lat=37.5,
            geometry=square(121.35, 37.45),
        ),
        Division(
            code="370613",
            name="莱山区",
            name_en="Laishan",
            level="county",
            parent_code="370600",
            population=400_000,
            lon=121.45,
            lat=37.4,
            geometry=square(121.42, 37.35),
        ),
        Division(
            code="370200",
            name="青岛市",
            name_en="Qingdao",
            level="city",
            parent_code="370000",
            population=10_000_000,
        ),
        Division(
            code="370202",
            name="市南区",
            name_en="Shinan",
            level="county",
            parent_code="370200",
            population=500_000,
        ),
    ]
    session.add_all(divisions)
    enterprises = []
    for i, (county, section, code) in enumerate(
        [
            ("370602", "C", "26"),
            ("370602", "C", "26"),
            ("370602", "G", "54"),
            ("370613", "C", "26"),
            ("370613", "F", "51"),
            ("370202", "C", "26"),
        ],
        start=1,
    ):
        enterprises.append(
            Enterprise(
                name=f"测试企业{i}有限公司",
                uscc=uscc(county, i),
                industry_code=code,
                industry_section=section,
                scale="small",
                supervision_category="hazchem" if code == "26" else "other",
                is_hazchem=code == "26",
                address="测试地址",
                division_code=county,
                lon=121.4,
                lat=37.5,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    session.add_all(enterprises)
    session.add_all(
        [
            GridCell(
                code="370602-0001",
                name="芝罘区第0001网格",
                division_code="370602",
                population=3000,
                geometry=square(121.36, 37.46, 0.01),
                lon=121.365,
                lat=37.465,
            ),
            GridCell(
                code="370613-0001",
                name="莱山区第0001网格",
                division_code="370613",
                population=2000,
                geometry=square(121.43, 37.36, 0.01),
                lon=121.435,
                lat=37.365,
            ),
            ProtectedTarget(
                name="芝罘区实验小学",
                target_type="school",
                capacity=1200,
                division_code="370602",
                lon=121.38,
                lat=37.52,
            ),
            ProtectedTarget(
                name="莱山区人民医院",
                target_type="hospital",
                capacity=800,
                division_code="370613",
                lon=121.44,
                lat=37.4,
            ),
        ]
    )
    session.flush()
    own = enterprises[0]
    users = {
        "admin": ("admin", "370600", None, None),
        "commander": ("commander", "370600", None, None),
        "analyst": ("risk_analyst", "370600", None, None),
        "zhifu": ("district_officer", "370602", None, None),
        "laishan": ("district_officer", "370613", None, None),
        "liaison": ("department_liaison", "370600", None, "G"),
        "enterprise": ("enterprise_officer", "370602", own.id, None),
        "public": ("public", "370600", None, None),
        "qdadmin": ("admin", "370200", None, None),
    }
    for username, (role, division, ent, industry) in users.items():
        session.add(
            User(
                username=username,
                display_name=username,
                password_hash=password_hash,
                role=role,
                division_code=division,
                enterprise_id=ent,
                industry=industry,
                created_at=NOW,
            )
        )
    session.flush()
    return {"enterprises": enterprises, "own_enterprise_id": own.id}
