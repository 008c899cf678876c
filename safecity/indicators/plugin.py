"""The indicators capability plugged into SafeCity: its standard files (see
safecity.plugins.Conventional)."""

from __future__ import annotations

from safecity.plugins import Conventional


class Indicators(Conventional):
    order = 90  # after every capability whose records it reads
    text_prefix = "ind_"


plugin = Indicators(__name__)
