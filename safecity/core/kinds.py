"""Object kinds: a type registered once gets list/filter/detail/form/import/export pages and API.

A capability describes each of its object types with a ``Kind`` (model, input schema, columns,
filters, choices, who may write, map layer) and returns them from its plug-in's
``safecity_kinds`` hook. ``kinds_service`` holds the generic use cases, ``tabular`` the import
and export, ``kinds_api`` the API routes and ``safecity.web.kinds_views`` the pages; none of them
names a capability. README.md ("Where things live", the paragraph on kinds) says how to declare
one; the optional fields below say what each adds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.sql.elements import False_

from safecity.core import scope
from safecity.core.scope import Principal, Shape
from safecity.core.validation import SafeInput

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from safecity.core.errors import FieldError

# Labels every kind shares, so a capability names only its own columns.
COMMON_LABELS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"),
    "name": ("名称", "name"),
    "code": ("代码", "code"),
    "division_code": ("行政区划代码", "division code"),
    "address": ("地址", "address"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "geometry": ("几何图形", "geometry"),
    "contact": ("联系人", "contact"),
    "contact_phone": ("联系电话", "contact phone"),
    "note": ("备注", "note"),
    "archived": ("已归档", "archived"),
    "updated_at": ("更新时间", "updated"),
    "created_at": ("创建时间", "created"),
    "population": ("人口", "population"),
    "capacity": ("容纳人数", "capacity"),
    "enterprise_id": ("企业", "enterprise"),
}

Choices = dict[str, tuple[str, str]]


@dataclass(frozen=True)
class Credential:
    """A secret every new object gets (a device's token): stored as ``issue`` says (a hash),
    shown once — in the create answer under ``field``, on the page after the form, and in the
    import report's ``credentials`` list."""

    issue: Callable[[], tuple[dict[str, Any], str]]  # → (columns to store, the secret)
    field: str = "token"
    label: tuple[str, str] = ("设备凭据", "device credential")


@dataclass(frozen=True)
class QueryFilter:
    """A list filter that is not one column's stored value: ``where(text)`` turns the query
    text into a SQL clause (a ValueError answers 422). With ``options`` the page shows a select
    (a single option: a checkbox); without, a text box."""

    label: tuple[str, str]
    where: Callable[[str], Any]
    options: Choices = field(default_factory=dict)


@dataclass(frozen=True)
class Saving:
    """What ``Kind.prepare`` knows about the write in progress."""

    session: Session
    who: Principal
    obj: Any  # the stored object (None on create)
    now: datetime


@dataclass(frozen=True)
class Exchange:
    """A kind's own spreadsheet layout, when it is not its input schema (risk points name the
    enterprise by credit code and write their lists as text): the generic import, export and
    template routes and ``safecity import`` call these instead of ``tabular``'s own.
    ``import_file(session, who, filename, content, now, valid_only=, dry_run=)`` → ImportReport;
    ``export(session, who, kind, params, fmt)`` → (bytes, media type, file name);
    ``template()`` → XLSX bytes."""

    import_file: Callable[..., Any]
    export: Callable[..., tuple[bytes, str, str]]
    template: Callable[[], bytes]


@dataclass(frozen=True, kw_only=True)
class Kind:
    """One object type and everything the generic machinery needs to know about it."""

    name: str  # unique over all kinds: audit object_type, CLI name, text key
    plural: str  # URL segment
    prefix: str  # capability URL segment: pages at /{prefix}/{plural}
    model: type
    schema: type[BaseModel]
    zh: str
    en: str
    columns: tuple[str, ...]  # list/detail/export columns, in order
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)
    key: str = "id"  # attribute used in URLs
    natural_key: str | None = None  # unique column matched on import to update, not create
    api_prefix: str | None = None  # API segment under /api/v1 (None: same as prefix)
    exact_filters: tuple[str, ...] = ()
    search: tuple[str, ...] = ("name",)
    sortable: tuple[str, ...] = ("name",)
    default_sort: str = "name"
    choices: dict[str, Choices] = field(default_factory=dict)
    writers: frozenset[str] = frozenset({"admin"})
    shape: Shape | None = None  # None: the model's division_code only
    division_field: str = "division_code"  # the input field holding the object's division
    division_must_exist: bool = True
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    check_write: Callable[[Principal, dict[str, Any], Any], None] | None = None
    readers: Callable[[Principal], bool] | None = None
    map_props: tuple[str, ...] | None = None  # properties of the map layer; None: no layer
    # The object's GeoJSON geometry when it is neither a stored ``geometry`` nor lon/lat (a
    # warning's areas, drawn from circles, polygons and division outlines): obj → geometry.
    shape_of: Callable[[Any], dict[str, Any] | None] | None = None
    # List filters the map layer always applies (only open hidden dangers are worth a dot).
    layer_filters: dict[str, str] = field(default_factory=dict)
    detail_template: str | None = None
    hints: dict[str, str] = field(default_factory=dict)  # import template notes, per column
    example: dict[str, Any] = field(default_factory=dict)  # a valid create body (test city)
    # Objects made and changed only by the capability's own workflow (a hidden danger is
    # reported, assigned and verified; a warning drafted, approved and issued): the generic
    # machinery lists, filters, shows, exports and maps them, and offers no new / edit /
    # import / archive routes. The capability's own create route may share ``api_url``.
    workflow_only: bool = False
    # A scope wider than the rule's for some callers (a member of the public sees their own
    # reports): ``scope_where(who)`` → the list's WHERE clause and ``scope_sees(who, obj)`` →
    # the one-object check, or None where the one rule (``shape``) decides.
    scope_where: Callable[[Principal], Any] | None = None
    scope_sees: Callable[[Principal, Any], bool | None] | None = None
    # A detail page of the capability's own (a hidden danger's timeline and action forms):
    # (request, session, who, object) → Response; the generic route finds the object in the
    # caller's scope (404 outside it) and hands it over.
    detail_page: Callable[[Any, Session, Principal, Any], Any] | None = None
    # -- optional, for kinds with more than stored columns (monitoring's sensors use them all)
    list_columns: tuple[str, ...] | None = None  # list page columns (None: columns minus long)
    # Computed, read-only values (latest reading, open alarms): ``extras(session, objects)``
    # returns {key: {name: value}} for a page of objects; ``extra_fields`` (name → type) are
    # the ones API answers carry, and ``list_columns`` may name any of them.
    extras: Callable[[Session, Sequence[Any]], dict[Any, dict[str, Any]]] | None = None
    extra_fields: dict[str, Any] = field(default_factory=dict)
    # Checks that need the database beyond the division (a grid cell or enterprise exists):
    # (session, values, import row or None) → field errors (422).
    check_references: Callable[[Session, dict[str, Any], int | None], list[FieldError]] | None = (
        None
    )
    credential: Credential | None = None
    # Where the map layer draws objects that are not at their stored point (a vehicle's last
    # reported position): (session, objects) → {key: (lon, lat)}.
    layer_point: Callable[[Session, Sequence[Any]], dict[Any, tuple[float, float]]] | None = None
    # More context for ``detail_template``: (session, who, object) → {name: value}.
    detail_context: Callable[[Session, Principal, Any], dict[str, Any]] | None = None
    # -- optional, for kinds whose stored columns are computed from the input (risk's kinds)
    # Columns derived on save with the database and the clock (a unit's GB 18218 grade from its
    # substances and the people within 500 m; a division taken from the owning enterprise):
    # (validated input, Saving) → the values to store. Runs on create, edit and import, before
    # the scope check, so the derived division is the one checked; may raise Invalid.
    prepare: Callable[[dict[str, Any], Saving], dict[str, Any]] | None = None
    # Filters beyond ``exact_filters`` (query name → QueryFilter), in the API and on the page.
    query_filters: dict[str, QueryFilter] = field(default_factory=dict)
    # Sort keys that are an expression rather than the column (a level in severity order),
    # and the order of a list no one sorted (the key breaks ties).
    sort_expressions: dict[str, Any] = field(default_factory=dict)
    default_order: tuple[Any, ...] = ()
    # The API answer when it is not the columns (a kind with API clients from before it was a
    # kind keeps its fields): the Pydantic model, and obj → answer (also the audit's snapshot).
    out_schema: type[BaseModel] | None = None
    as_answer: Callable[[Any], dict[str, Any]] | None = None
    # The answer of one object's GET when it carries more than the list's (a risk point's
    # assessments): (session, who, object) → answer, and its model.
    detail_answer: Callable[[Session, Principal, Any], dict[str, Any]] | None = None
    detail_schema: type[BaseModel] | None = None
    # More of a list's answer than its page (an enterprise's level when the list is filtered
    # by it): (session, who, ListParams) → {name: value}, with ``page_schema`` its model; keys
    # left out are left out of the answer. The list page gets it as ``summary``.
    list_summary: Callable[[Session, Principal, Any], dict[str, Any]] | None = None
    page_schema: type[BaseModel] | None = None
    exchange: Exchange | None = None
    # Pages: a note above the list (``list_template``); Jinja macros named after columns that
    # draw a list cell or detail value (``cell_template``: ``{% macro level(value, obj) %}``);
    # a form body for inputs the generated form cannot show (nested rows, multi-selects):
    # ``form_template`` with ``form_parse(form) → input``, ``form_values(obj or None, query)
    # → the values it shows`` and ``form_context(session, who) → pick lists``.
    # ``page_context(session, who)`` adds names every page of the kind uses (label tables,
    # today's date) to its list, detail and form pages.
    list_template: str | None = None
    # The list's search box hint, and links beside its export (the workflow's own start, a
    # statistics page): (href, (zh, en), primary). A primary link is shown to ``writers``.
    search_hint: tuple[str, str] | None = None
    list_actions: tuple[tuple[str, tuple[str, str], bool], ...] = ()
    cell_template: str | None = None
    page_context: Callable[[Session, Principal], dict[str, Any]] | None = None
    form_template: str | None = None
    form_parse: Callable[[Any], dict[str, Any]] | None = None
    form_values: Callable[[Any, Any], dict[str, Any]] | None = None
    form_context: Callable[[Session, Principal], dict[str, Any]] | None = None
    # The standard tests' import row when the spreadsheet is not the input schema (default:
    # the example).
    import_example: dict[str, Any] | None = None
    # The standard tests' refused import row and the field it is refused on (default: the
    # example moved to a division code that is no code).
    refused_example: tuple[dict[str, Any], str] | None = None

    # ------------------------------------------------------------------ derived
    @property
    def scope_shape(self) -> Shape:
        if self.shape is not None:
            return self.shape
        return Shape(division=self.model.division_code)  # type: ignore[attr-defined]

    def scope_clause(self, who: Principal) -> Any:
        """The WHERE clause limiting the kind to what the caller may see."""
        own = self.scope_where(who) if self.scope_where is not None else None
        return own if own is not None else scope.clause(who, self.scope_shape)

    @property
    def url(self) -> str:
        """The list page."""
        return f"/{self.prefix}/{self.plural}" if self.prefix else f"/{self.plural}"

    @property
    def api_url(self) -> str:
        segment = self.prefix if self.api_prefix is None else self.api_prefix
        return f"/api/v1/{segment}/{self.plural}" if segment else f"/api/v1/{self.plural}"

    @property
    def text_key(self) -> str:
        return f"kind_{self.name}"

    @property
    def has_archive(self) -> bool:
        return hasattr(self.model, "archived")

    def label(self, column: str) -> tuple[str, str]:
        return self.labels.get(column) or COMMON_LABELS.get(column) or (column, column)

    def input_fields(self) -> list[str]:
        return list(self.schema.model_fields)

    def choice_label(self, column: str, value: Any, lang: str) -> Any:
        options = self.choices.get(column)
        if options and value is not None and str(value) in options:
            zh, en = options[str(value)]
            return zh if lang == "zh" else en
        return value

    def may_write(self, who: Principal) -> bool:
        """Whether the generic new / edit / import / archive routes let the caller write."""
        return not self.workflow_only and who.role in self.writers

    def may_read(self, who: Principal) -> bool:
        """Whether the list is worth showing: the scope rule lets the caller see some of it."""
        if not who.can_read() or isinstance(self.scope_clause(who), False_):
            return False
        return self.readers is None or self.readers(who)

    def detail_url(self, obj: Any) -> str:
        return f"{self.url}/{getattr(obj, self.key)}"


# ---------------------------------------------------------------------- finding a kind


def find(name: str, kinds: Iterable[Kind]) -> Kind | None:
    """A kind by plural (``enterprises``), name (``enterprise``) or ``prefix/plural``.

    ``kinds`` is every installed kind: ``safecity.plugins.collect("safecity_kinds")``.
    """
    pool = list(kinds)
    wanted = name.strip().strip("/")
    for kind in pool:
        if wanted in (f"{kind.prefix}/{kind.plural}", kind.plural, kind.name):
            return kind
    snake = wanted.replace("-", "_")
    return next((k for k in pool if k.name == snake), None)


# ---------------------------------------------------------------------- plug-in helpers


def nav_entries(kinds: Iterable[Kind]) -> tuple[tuple[str, str, Callable[[Principal], bool]], ...]:
    """Menu entries (href, text key, who may open it) for ``safecity_nav``."""
    return tuple((k.url, k.text_key, k.may_read) for k in kinds)


def kind_texts(kinds: Iterable[Kind]) -> dict[str, tuple[str, str]]:
    """The kinds' names as UI texts (``kind_<name>``) for ``safecity_texts``."""
    return {k.text_key: (k.zh, k.en) for k in kinds}


def map_layers(kinds: Iterable[Kind]) -> list[tuple[str, str, str, str]]:
    """(name, GeoJSON URL, zh, en) of each kind with a map layer, for ``safecity_map_layers``."""
    return [(k.plural, f"{k.api_url}/layer", k.zh, k.en) for k in kinds if k.map_props]


# ---------------------------------------------------------------------- schema helpers


def one_of(value: str, options: Choices) -> str:
    """Accept the key or its Chinese/English label (spreadsheets use labels)."""
    for key, (zh, en) in options.items():
        if value in (key, zh, en):
            return key
    keys = "、".join(f"{k}({zh})" for k, (zh, _en) in options.items())
    raise ValueError(f"取值应为：{keys}|must be one of: {', '.join(options)}")


class Input(SafeInput):
    """Base of a kind's input schema: unknown fields refused, text stripped and checked."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Located(Input):
    """An input with an optional WGS-84 point (both coordinates or neither)."""

    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Located:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("经度和纬度须同时填写|longitude and latitude go together")
        return self
