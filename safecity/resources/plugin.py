"""The emergency resources capability plugged into SafeCity: its standard files (see
safecity.plugins.Conventional); the app mounts its five kinds after its own routers."""

from __future__ import annotations

from safecity.plugins import Conventional


class Resources(Conventional):
    order = 60
    text_prefix = "res_"


plugin = Resources(__name__)
