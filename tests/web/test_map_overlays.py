"""The one map's layer switch: a kind's layer is offered only to a role that may read the kind,
and marked lazy (fetched when switched on); the capabilities' own small layers load at once."""

from __future__ import annotations

from safecity.core.scope import Principal
from safecity.web.views import _overlays


def _names(who: Principal) -> dict[str, bool]:
    return {str(o["name"]): bool(o["lazy"]) for o in _overlays("zh", who)}


def test_kind_layers_follow_the_role_and_load_when_chosen() -> None:
    officer = _names(Principal(1, "zhifu", "district_officer", "370602"))
    assert officer["risk-points"] and officer["sensors"] and officer["shelters"]  # lazy
    assert not officer["risk-districts"] and not officer["alarms"]  # small: at once
    enterprise = _names(Principal(2, "ent", "enterprise_officer", "370602", 5))
    assert {"risk-points", "sensors"} <= set(enterprise)
    assert not {"rescue-teams", "shelters", "warehouses", "equipment"} & set(enterprise)
    assert not {n for n, lazy in _names(Principal(3, "p", "public", "370600")).items() if lazy}


def test_labels_follow_the_language() -> None:
    who = Principal(1, "zhifu", "district_officer", "370602")
    zh = {o["name"]: o["label"] for o in _overlays("zh", who)}
    en = {o["name"]: o["label"] for o in _overlays("en", who)}
    assert (zh["risk-points"], en["risk-points"]) == ("风险点", "Risk points")
