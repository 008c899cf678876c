"""The hazards capability plugged into SafeCity: its standard files (see
safecity.plugins.Conventional) and the list of major hidden dangers."""

from __future__ import annotations

from safecity.hookspecs import hookimpl
from safecity.plugins import Conventional


class Hazards(Conventional):
    order = 30
    text_prefix = "hd_"
    list_providers = (("major-hidden-dangers", "provider:major_hidden_dangers"),)

    @hookimpl
    def safecity_audit_steps(self) -> dict[str, tuple[str, str]]:
        # the audit log names each step as the hidden-danger workflow does; reporting comes
        # before the workflow (it creates the hidden danger)
        steps = self.part("workflow:ACTIONS")
        named = {f"hidden_danger.{name}": (s.zh, s.en) for name, s in steps.items()}
        return (
            (super().safecity_audit_steps() or {})
            | named
            | {"hidden_danger.report": ("上报隐患", "report")}
        )


plugin = Hazards(__name__)
