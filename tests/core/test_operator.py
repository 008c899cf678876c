"""The one command-line principal (core.scope.operator) every capability's commands act as."""

from __future__ import annotations

import getpass

from safecity.core import scope


def test_the_operator_covers_every_division_and_is_named_in_the_audit_log() -> None:
    who = scope.operator()
    assert who.role == "admin" and who.username == f"cli:{getpass.getuser()}"
    assert who.prefix == ""
    assert who.covers("370602") and who.covers("110101001")
    assert not scope.SYSTEM.covers("370602")  # unlike a plain 000000 principal
