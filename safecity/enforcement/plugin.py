"""The enforcement capability plugged into SafeCity: its standard files (see
safecity.plugins.Conventional), the case-deadline notices, and its part of an enterprise's
page (一企一档)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from safecity.hookspecs import hookimpl
from safecity.plugins import Conventional


class Enforcement(Conventional):
    order = 80
    text_prefix = "enf_"
    routers = ("api:public_router", "api:router", "views:router")
    jobs = "notices:jobs"

    @hookimpl
    def safecity_detail_sections(
        self, session: Any, who: Any, kind: Any, obj: Any, now: datetime
    ) -> Iterable[tuple[str, dict[str, Any]]]:
        """一企一档: the enterprise's supervision class, inspections and cases on its page."""
        if getattr(kind, "name", None) != "enterprise":
            return []
        section = self.part("views:one_file_section")
        return section(session, who, obj, now)


plugin = Enforcement(__name__)
