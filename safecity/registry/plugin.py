"""The registry capability plugged into SafeCity: its four kinds (list, filter, detail, form,
import, export, API; menu entries and texts from the kinds) and its API router."""

from __future__ import annotations

from safecity.plugins import Conventional


class Registry(Conventional):
    order = 10
    routers = ("api:router",)  # the kinds' pages are mounted by the app, as every kind's
    kinds = "kinds:REGISTRY_KINDS"  # their API keeps the short /api/v1/enterprises
    demo = None  # the base city is loaded by `safecity demo` itself, before every plug-in


plugin = Registry(__name__)
