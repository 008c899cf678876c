"""Supervision and enforcement (监管执法) — pure domain core: classes, 双随机 draw, cases, discretion.

No database, HTTP or clock here: callers pass ``now`` and map the errors (input → 422,
state → 409, role → 403).
"""
