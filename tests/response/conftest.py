"""Emergency-command fixtures: duty officers and group members on top of seed_city, and one
approved city plan whose groups name them."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from safecity.core.models import User
from tests.factories import NOW

EXTRA_USERS = {
    "duty": ("duty_officer", "370600"),
    "zfduty": ("duty_officer", "370602"),
    "rescuer": ("inspector", "370600"),
    "medic": ("inspector", "370600"),
}

TRIGGERS = {
    "levels": [
        {"level": "I", "when": {"field": "deaths", "op": "gte", "value": 30}},
        {"level": "II", "when": {"field": "grade", "op": "gte", "value": "serious"}},
        {"level": "III", "when": {"field": "grade", "op": "eq", "value": "relatively_serious"}},
        {"level": "IV", "when": {"field": "type", "op": "within", "value": "accident_disaster"}},
    ]
}

PLAN = {
    "name": "烟台市危险化学品事故应急预案",
    "tier": "special",
    "owner_name": "烟台市应急管理局",
    "division_code": "370600",
    "types": ["accident_disaster"],
    "triggers": TRIGGERS,
    "groups": [
        {
            "key": "rescue",
            "name": "抢险救援组",
            "department": "消防救援支队",
            "members": ["rescuer"],
        },
        {"key": "medical", "name": "医疗救护组", "department": "卫健委", "members": ["medic"]},
    ],
    "tasks": [
        {
            "group": "rescue",
            "levels": ["I", "II", "III", "IV"],
            "title": "搜救被困人员",
            "due_minutes": 30,
        },
        {"group": "medical", "levels": ["I", "II", "III"], "title": "伤员救治", "due_minutes": 60},
    ],
}


@pytest.fixture
def rs_city(city: dict, session: Session, password_hash: str) -> dict:
    for username, (role, division) in EXTRA_USERS.items():
        session.add(
            User(
                username=username,
                display_name=username,
                password_hash=password_hash,
                role=role,
                division_code=division,
                created_at=NOW,
            )
        )
    session.commit()
    return city
