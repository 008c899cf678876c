"""Where the area layers place risk points: their own coordinates, else their enterprise's (read by
key per point, not joined), else nowhere — for a city user, a liaison and an industry filter."""

from __future__ import annotations

import math

from sqlalchemy import select

from safecity.registry.models import Enterprise
from safecity.risk.areas import service as area_service
from tests.conftest import principal
from tests.risk.area_seed import point


def _placed(items) -> dict[int, tuple[float | None, float | None]]:  # type: ignore[no-untyped-def]
    def num(v: float) -> float | None:
        return None if math.isnan(v) else round(float(v), 6)

    return {
        int(i): (num(x), num(y)) for i, x, y in zip(items.ids, items.lon, items.lat, strict=True)
    }


def test_points_stand_at_their_own_or_their_enterprises_place(session, city) -> None:  # type: ignore[no-untyped-def]
    ents = {e.industry_code: e for e in session.scalars(select(Enterprise).order_by(Enterprise.id))}
    shop = ents["54"]  # the only G (transport) enterprise: the liaison's industry
    shop.lon, shop.lat = 121.38, 37.48
    plant = session.scalars(
        select(Enterprise).where(
            Enterprise.division_code == "370602", Enterprise.industry_code == "26"
        )
    ).first()
    own = point("自有坐标", "370602", "red", 121.36, 37.46, enterprise=shop)
    borrowed = point("企业坐标", "370602", "orange", None, None, enterprise=shop)
    nowhere = point("无坐标", "370602", "yellow", None, None)
    other = point("他业企业", str(plant.division_code), "blue", None, None, enterprise=plant)
    session.add_all([own, borrowed, nowhere, other])
    session.commit()

    admin = _placed(area_service.load_points(session, principal(session, "admin"), "grid"))
    assert admin[own.id] == (121.36, 37.46)
    assert admin[borrowed.id] == (121.38, 37.48)
    assert admin[nowhere.id] == (None, None)
    assert admin[other.id] == (121.4, 37.5)

    liaison = _placed(area_service.load_points(session, principal(session, "liaison"), "grid"))
    assert liaison == {own.id: (121.36, 37.46), borrowed.id: (121.38, 37.48)}

    by_industry = area_service.load_points(session, principal(session, "admin"), "grid", None, "G")
    assert _placed(by_industry) == liaison
