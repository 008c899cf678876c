"""Enforcement fixtures: the seeded city plus inspector accounts and a small inspector pool."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

import safecity.enforcement.models  # noqa: F401  the tables are truncated between tests
from safecity.core.models import User
from safecity.enforcement.models import Inspector
from tests.conftest import NOW

# username → (platform role, division, pool duty or None, certificate expiry)
ACCOUNTS = {
    "insp1": ("inspector", "370602", "inspector", date(2028, 12, 31)),
    "insp2": ("inspector", "370602", "inspector", date(2028, 12, 31)),
    "insp3": ("inspector", "370602", "inspector", date(2028, 12, 31)),
    "insp4": ("inspector", "370602", "inspector", date(2026, 6, 30)),  # expired before NOW
    "reviewer": ("inspector", "370602", "legal_reviewer", date(2028, 12, 31)),
    "head": ("inspector", "370602", "office_head", date(2028, 12, 31)),
    "lsinsp": ("inspector", "370613", "inspector", date(2028, 12, 31)),
    "lsinsp2": ("inspector", "370613", "inspector", date(2028, 12, 31)),
}


@pytest.fixture
def enf(session: Session, city: dict, password_hash: str) -> dict:
    """Inspector accounts and pool rows; insp1 declared a relation to enterprise 1 and insp3
    used to work for enterprise 2, so each must never be sent there."""
    ents = city["enterprises"]
    pool = {}
    for username, (role, division, duty, expires) in ACCOUNTS.items():
        session.add(
            User(
                username=username,
                display_name=f"执法{username}",
                password_hash=password_hash,
                role=role,
                division_code=division,
                created_at=NOW,
            )
        )
        row = Inspector(
            username=username,
            name=f"执法{username}",
            office="执法一科" if division == "370602" else "莱山执法科",
            division_code=division,
            duty=duty,
            certificate_no=f"37060{len(pool):03d}",
            certificate_expires=expires,
            related_enterprise_ids=[ents[0].id] if username == "insp1" else [],
            former_employer_ids=[ents[1].id] if username == "insp3" else [],
            updated_at=NOW,
        )
        session.add(row)
        session.flush()
        pool[username] = row.id
    session.commit()
    return {**city, "pool": pool}
