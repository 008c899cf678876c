"""The `safecity` command: set up the database, load the demo city, serve, import/export, admin."""

from __future__ import annotations

import json
import logging
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from safecity.core.clock import utcnow
from safecity.core.scope import ROLES, Principal, operator

app = typer.Typer(
    help="SafeCity 城市安全风险监测预警与应急管理平台.\n\n"
    "Configuration: environment variables SAFECITY_DATABASE_URL (default sqlite:///safecity.db; "
    "PostgreSQL: postgresql+psycopg://user@host/db), SAFECITY_HOST, SAFECITY_PORT, "
    "SAFECITY_SESSION_TTL_MINUTES, SAFECITY_TOKEN_TTL_MINUTES, SAFECITY_STORAGE_DIR, or the same "
    "names (lower case, without prefix) under \\[safecity] in ./safecity.toml or the file named by "
    "SAFECITY_CONFIG.",
    no_args_is_help=True,
    add_completion=False,
)
user_app = typer.Typer(help="Manage users (用户管理).", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log (审计日志).", no_args_is_help=True)
calc_app = typer.Typer(help="Standards calculations (标准计算).", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
report_app = typer.Typer(help="Reports (报告).", no_args_is_help=True)
app.add_typer(calc_app, name="calc")
app.add_typer(report_app, name="report")
console = Console()


def _operator() -> Principal:
    return operator()  # the machine's operator over every division (core.scope)


@app.command()
def init() -> None:
    """Create or upgrade the database schema (建库/升级)."""
    from safecity.core.config import get_settings  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.migrate import upgrade  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    url = get_settings().database_url
    upgrade(url)
    console.print(f"[green]数据库已就绪 / database ready:[/] {_safe_url(url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def demo(seed: int = typer.Option(20260101, help="Random seed of the generated city.")) -> None:
    """Load the demo city (烟台市 370600) — does nothing if it is already loaded."""
    from safecity.core import notify  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.plugins import hook  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.registry import demo as demo_city  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    init()
    now = utcnow()
    with console.status("生成演示城市 / generating the demo city…"):
        city = demo_city.generate(seed=seed, now=now)
    with _progress() as progress, session_scope() as session:
        tasks: dict[str, int] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done)

        counts = demo_city.load(session, city, now, progress=report)
        # Each capability's demo data in plug-in order (a later one may use an earlier one's).
        # The demo's warnings go out on the log channels (no SMS gateway here): not news.
        notify_log = logging.getLogger("safecity.core.notify")
        level = notify_log.level
        notify_log.setLevel(logging.ERROR)
        try:
            for part in hook().safecity_demo(session=session, now=now, progress=report):
                counts.update(part)
        finally:
            notify_log.setLevel(level)
        # The staff read the city's past as it happened; today's messages stay unread.
        notify.settle_before(session, now - timedelta(days=1))
        # A loader reports every few rows; once it has returned, its part is done.
        for task in progress.tasks:
            progress.update(task.id, completed=task.total)
    _print_counts(counts)
    _print_accounts(city)


def _print_counts(counts: dict[str, Any]) -> None:
    """What the demo city holds, one row per figure (nested parts flattened)."""
    table = Table(title="演示城市 / the demo city")
    table.add_column("数据 / data")
    table.add_column("数量 / count", justify="right")
    for key, value in counts.items():
        parts = value.items() if isinstance(value, dict) else [("", value)]
        for sub, number in parts:
            if isinstance(number, int):
                table.add_row(f"{key}.{sub}" if sub else key, f"{number:,}")
    console.print(table)


def _print_accounts(city) -> None:  # type: ignore[no-untyped-def]
    table = Table(title="演示账号 / demo accounts (password 密码: demo1234)")
    for col in ("username", "角色 role", "区划 division"):
        table.add_column(col)
    for u in city.users:
        table.add_row(u["username"], f"{ROLES[u['role']][0]} {u['role']}", u["division_code"])
    console.print(table)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to listen on (SAFECITY_HOST)."),
    port: int | None = typer.Option(None, help="Port (SAFECITY_PORT)."),
    workers: int = typer.Option(1, help="uvicorn worker processes."),
) -> None:
    """Serve the web UI and the API (启动服务)."""
    import uvicorn  # noqa: PLC0415 uvicorn loaded only when a server starts

    from safecity.core.config import get_settings, set_environ  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    # Outward links (CAP <web>, Atom) fall back to the address served when no public URL is set.
    set_environ("SAFECITY_HOST", host)
    set_environ("SAFECITY_PORT", str(port))
    console.print(f"[bold green]SafeCity:[/] http://{host}:{port}/  (API: /api/v1/docs)")
    # Sensors are loaded for ingestion at startup, not by the first device's request.
    set_environ("SAFECITY_MONITORING_WARM_START", "true", keep=True)
    _monitoring_settings().cache_clear()  # read again with it
    # The road engine (numba kernel, road graph) is warmed in the background, not by the first
    # nearest/coverage question (resources.jobs).
    set_environ("SAFECITY_RESOURCES_WARM_START", "true", keep=True)
    # Long-lived objects are frozen out of full garbage collections once warm (web/heap.py).
    set_environ("SAFECITY_WEB_SETTLE_HEAP", "true", keep=True)
    if workers > 1 and not _http_relayed():
        console.print(
            "[yellow]注意：多个进程各自保存报警规则状态；设备经 HTTP 上报时请只用"
            "一个进程，或设置 SAFECITY_MONITORING_HTTP_FORWARD_NATS=true 转发到 "
            "JetStream。\nNote: each worker process keeps its own rule state; for HTTP "
            "telemetry run one process, or relay it into JetStream "
            "(SAFECITY_MONITORING_HTTP_FORWARD_NATS=true).[/]"
        )
    uvicorn.run(
        "safecity.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=access_log_config(),
    )


# Device traffic left out of the access log: the demo's simulator alone posts ~50 times a second
# and would scroll everything else (the demo accounts printed at start) away. Failed device
# posts (4xx/5xx) are still logged. SAFECITY_ACCESS_LOG_DEVICES=true logs every post.
DEVICE_PATHS = ("/api/v1/telemetry",)


class QuietDevices:
    """logging filter for uvicorn.access: drops successful device telemetry posts."""

    def filter(self, record: Any) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) < 5 or not str(args[2]).startswith(DEVICE_PATHS):
            return True
        return int(args[4]) >= 400


def access_log_config() -> dict[str, Any]:
    import copy  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415 uvicorn loaded only when a server starts

    from safecity.core.config import get_settings  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    config = copy.deepcopy(LOGGING_CONFIG)
    if not get_settings().access_log_devices:
        config.setdefault("filters", {})["quiet_devices"] = {"()": QuietDevices}
        config["handlers"]["access"].setdefault("filters", []).append("quiet_devices")
    return config


def _monitoring_settings():  # type: ignore[no-untyped-def]
    from safecity.monitoring.settings import get_monitoring_settings  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    return get_monitoring_settings


def _http_relayed() -> bool:
    return bool(_monitoring_settings()().http_forward_nats)


def _kind(name: str):  # type: ignore[no-untyped-def]
    from safecity.core.kinds import find  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.plugins import collect  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    kinds = collect("safecity_kinds")
    kind = find(name, kinds)
    if kind is None:
        names = ", ".join(k.plural for k in kinds)
        console.print(f"[red]未知类型 unknown kind:[/] {name}; one of {names}")
        raise typer.Exit(2)
    return kind


@app.command("import")
def import_(
    kind: str = typer.Argument(
        ..., help="Kind: enterprises, grid-cells, rescue-teams … (or prefix/plural)"
    ),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".xlsx, .csv or .geojson"),
    valid_only: bool = typer.Option(False, help="Import the valid rows and skip the invalid ones."),
    dry_run: bool = typer.Option(False, help="Check the file and write nothing."),
) -> None:
    """Import objects of any kind from XLSX, CSV or GeoJSON; any invalid row stops the whole import.

    Exits 1 when the file has any error, also with --dry-run or --valid-only (the report still
    lists them), so a script can tell a clean file from a bad one; 0 only for a clean file.
    """
    from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.errors import Invalid  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.registry import io  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    k = _kind(kind)
    if k.workflow_only:
        console.print(
            f"[red]{k.zh}不能导入，须经业务流程创建 / {k.en} are not imported:[/] "
            "they are made through their workflow"
        )
        raise typer.Exit(2)
    try:
        with session_scope() as session:
            report = io.import_file(
                session,
                _operator(),
                k,
                file.name,
                file.read_bytes(),
                utcnow(),
                valid_only=valid_only,
                dry_run=dry_run,
            )
    except Invalid as exc:
        _print_errors(exc)
        raise typer.Exit(1) from None
    console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    if report.error_count:
        typer.echo(
            f"文件有 {report.error_count} 个错误 / the file has {report.error_count} errors",
            err=True,
        )
        raise typer.Exit(1)


def _print_errors(exc) -> None:  # type: ignore[no-untyped-def]
    table = Table(title="导入失败，未写入任何数据 / import failed, nothing written")
    for col in ("行 row", "列 column", "原因 reason"):
        table.add_column(col)
    for e in exc.errors[:200]:
        table.add_row(str(e.row or ""), e.field, e.zh)
    console.print(table)


@app.command()
def export(
    kind: str = typer.Argument(
        ..., help="divisions | grid-cells | enterprises | protected-targets"
    ),
    file: Path = typer.Argument(..., dir_okay=False, help="Output .xlsx, .csv or .geojson"),
    division: str | None = typer.Option(None, help="Only this division (code prefix)."),
) -> None:
    """Export registry objects to XLSX, CSV or GeoJSON."""
    from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.registry import io  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.registry.service import ListParams  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    fmt = file.suffix.lstrip(".").lower()
    if fmt not in ("xlsx", "csv", "geojson"):
        console.print("[red]文件扩展名应为 .xlsx/.csv/.geojson[/]")
        raise typer.Exit(2)
    with session_scope() as session:
        content, _media, _name = io.export(
            session, _operator(), _kind(kind), ListParams(division=division), fmt
        )
    file.write_bytes(content)
    console.print(f"[green]已导出 exported[/] {file} ({len(content)} bytes)")


@user_app.command("add")
def user_add(
    username: str,
    role: str = typer.Option(..., help=", ".join(ROLES)),
    division: str = typer.Option(..., help="GB/T 2260 division code of the user's scope."),
    name: str = typer.Option("", help="Display name."),
    password: str | None = typer.Option(None, help="Asked for when omitted."),
    enterprise_id: int | None = typer.Option(None),
    industry: str | None = typer.Option(None),
) -> None:
    """Add a user."""
    from safecity.core import users  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.errors import Invalid, SafeCityError  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    if password is None:
        password = typer.prompt("密码 password", hide_input=True, confirmation_prompt=True)
    data = {
        "username": username,
        "password": password,
        "role": role,
        "division_code": division,
        "display_name": name,
        "enterprise_id": enterprise_id,
        "industry": industry,
    }
    try:
        with session_scope() as session:
            user = users.add_user(session, _operator(), data, utcnow())
            console.print(
                f"[green]已添加 added[/] {user.username} ({user.role}, {user.division_code})"
            )
    except Invalid as exc:
        for e in exc.errors:
            console.print(f"[red]{e.zh}[/] ({e.en})")
        raise typer.Exit(1) from None
    except SafeCityError as exc:
        console.print(f"[red]{exc.zh}[/]")
        raise typer.Exit(1) from None


@user_app.command("list")
def user_list() -> None:
    """List users."""
    from safecity.core import users  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    table = Table()
    for col in ("username", "name", "role", "division", "active"):
        table.add_column(col)
    with session_scope() as session:
        for u in users.list_users(session, _operator()):
            table.add_row(u.username, u.display_name, u.role, u.division_code, str(u.active))
    console.print(table)


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable a user and end their sessions."""
    from safecity.core import users  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.errors import SafeCityError  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    try:
        with session_scope() as session:
            users.set_active(session, _operator(), username, False, utcnow())
    except SafeCityError as exc:
        console.print(f"[red]{exc.zh}[/]")
        raise typer.Exit(1) from None
    console.print(f"[green]已停用 disabled[/] {username}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exits 1 naming each edited or missing entry."""
    from safecity.core import audit  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    with session_scope() as session:
        result = audit.verify(session)
    if result.ok:
        console.print(f"[green]审计日志完整 / audit log intact[/]: {result.checked} entries")
        return
    for problem in result.problems:
        console.print(f"[red]{problem}[/]")
    raise typer.Exit(1)


@calc_app.command("lec")
def calc_lec(
    l: float = typer.Option(..., "--l"),  # noqa: E741 L of LEC, the standard's own letter
    e: float = typer.Option(..., "--e"),
    c: float = typer.Option(..., "--c"),
) -> None:
    """LEC: D = L × E × C and its risk level (作业条件危险性分析法)."""
    from safecity.risk.points import lec  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    try:
        result = lec.assess_lec(l, e, c)
    except (ValueError, lec.LecInputError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")


@calc_app.command("hazmat")
def calc_hazmat(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """GB 18218-2018 major hazard identification and grading of the units in FILE.json."""
    from safecity.risk.major_hazards import hazmat  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
        result = hazmat.identify(payload)
    except (ValueError, hazmat.HazmatInputError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


@calc_app.command("accident")
def calc_accident(
    deaths: str = typer.Option(..., "--deaths", help="死亡人数 deaths"),
    serious_injuries: str = typer.Option(
        ..., "--serious-injuries", help="重伤人数（含急性工业中毒） serious injuries"
    ),
    direct_loss_yuan: str = typer.Option(
        ..., "--direct-loss-yuan", help="直接经济损失（元） direct loss in yuan"
    ),
) -> None:
    """Decree 493 art. 3: production-safety accident grade (生产安全事故等级) and why."""
    from safecity.response import grading  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.response.errors import ResponseInputError  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    # Taken as text so a bad value gets the rules' own zh/en message, not click's.
    try:
        result = grading.grade_accident(deaths, serious_injuries, direct_loss_yuan)
    except ResponseInputError as exc:
        typer.echo(exc.message(), err=True)
        raise typer.Exit(2) from None
    sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2) + "\n")


@report_app.command("white-paper")
def white_paper(
    year: int = typer.Option(..., help="Year the paper covers."),
    division: str = typer.Option("370600", help="GB/T 2260 code of the city or district."),
    out: Path = typer.Option(Path("."), file_okay=False, help="Folder for the PDF and DOCX."),
) -> None:
    """Write the city safety risk white paper (城市安全风险白皮书) as PDF and DOCX."""
    from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.errors import SafeCityError  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.risk.whitepaper import service as whitepaper  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    out.mkdir(parents=True, exist_ok=True)
    try:
        with session_scope() as session, console.status("生成白皮书 / building the white paper…"):
            for fmt in ("pdf", "docx"):
                content, _media, filename = whitepaper.build(
                    session, _operator(), str(year), division, fmt, utcnow()
                )
                (out / Path(filename).name).write_bytes(content)
                console.print(f"[green]已生成 written[/] {out / Path(filename).name}")
    except SafeCityError as exc:
        console.print(f"[red]{exc.zh}[/] ({exc.en})")
        raise typer.Exit(1) from None


def _jsonable(value):  # type: ignore[no-untyped-def]
    import dataclasses  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return value


def _register_capabilities() -> None:
    from safecity.core import jobs  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.plugins import hook  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    jobs.register_cli(app)  # `safecity jobs list / run-once`: every plug-in's jobs
    hook().safecity_cli(app=app)


_register_capabilities()

if __name__ == "__main__":
    app()
