"""The ``minga`` command line: database, server, admins and the demo."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from app.core import migrate
from app.core.config import Settings, get_settings
from app.core.security import configure_password_hashing

if TYPE_CHECKING:
    from app.payments.reconcile import Reconciliation
    from app.settlement.schemas import LedgerReport

app = typer.Typer(
    help="Minga: a solidarity marketplace with short supply chains.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
admin_app = typer.Typer(help="Platform admins.", no_args_is_help=True)
cycles_app = typer.Typer(help="Order cycles.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.add_typer(cycles_app, name="cycles")
ledger_app = typer.Typer(help="The money trail of settled cycles.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
payments_app = typer.Typer(help="Card payments.", no_args_is_help=True)
app.add_typer(payments_app, name="payments")
console = Console()

DEMO_DATABASE = Path("minga-demo.db")
DEMO_ADMIN_EMAIL = "admin@minga.ec"
DEMO_ADMIN_PASSWORD = "minga-demo-platform"  # noqa: S105 - printed on purpose, demo only
DEMO_MEDIA_DIR = "./media-demo"
DEMO_MAIL_DIR = "./mail-demo"  # the demo's e-mails, as .eml files (no SMTP server needed)
# While the demo loads: quiet logs (the server then logs as its settings say), and, as every
# demo password is printed anyway, Argon2id at OWASP's minimum cost for the demo accounts
# (about 50 hashes and logins in a second or two rather than in 20 s on a busy machine).
DEMO_LOADING: dict[str, object] = {
    "log_level": "WARNING",
    "mail_dir": DEMO_MAIL_DIR,
    "argon2_time_cost": 2,
    "argon2_memory_kib": 19456,
    "argon2_parallelism": 1,
}


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Bring the database schema up to REVISION (default: the newest)."""
    migrate.upgrade(get_settings().database_url, revision)
    console.print(f"[green]database at {revision}[/green]")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Take the schema back to REVISION ('base' drops everything)."""
    migrate.downgrade(get_settings().database_url, revision)
    console.print(f"[yellow]database at {revision}[/yellow]")


async def _create_admin(settings: Settings, email: str, password: str, full_name: str) -> str:
    from app.accounts.bootstrap import ensure_platform_admin
    from app.core.db import create_engine, create_sessionmaker, transaction

    configure_password_hashing(settings)
    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            user = await ensure_platform_admin(
                session, email=email, password=password, full_name=full_name
            )
            return user.id
    finally:
        await engine.dispose()


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="The admin's login email")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    full_name: Annotated[str, typer.Option()] = "Platform admin",
) -> None:
    """Create a platform admin (or make an existing account one)."""
    from app.accounts.passwords import weakness

    if reason := weakness(password, email=email):
        raise typer.BadParameter(reason, param_hint="--password")
    user_id = asyncio.run(_create_admin(get_settings(), email, password, full_name))
    console.print(f"[green]platform admin {email} ({user_id})[/green]")


async def _tick(settings: Settings) -> tuple[list[str], list[str], list[str]]:
    from app.core.db import create_engine, create_sessionmaker
    from app.core.timeutil import utcnow
    from app.flows.wiring import wire
    from app.orders.scheduler import tick

    wire()

    engine = create_engine(settings)
    try:
        done = await tick(create_sessionmaker(engine), settings, utcnow())
        return done.opened, done.closed, done.failed
    finally:
        await engine.dispose()


async def _ledger(settings: Settings, cycle_id: str | None) -> list[LedgerReport]:
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.settlement import ledger

    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine), write=False) as session:
            return await ledger.check(session, cycle_id)
    finally:
        await engine.dispose()


@ledger_app.command("check")
def ledger_check(
    cycle: Annotated[
        str | None, typer.Option("--cycle", help="one cycle's id (default: every settled one)")
    ] = None,
) -> None:
    """Recompute the money trail of settled cycles and the stock of every cycle; exit 1 on
    any difference."""
    reports = asyncio.run(_ledger(get_settings(), cycle))
    if cycle is not None and not reports:
        console.print(f"[red]no cycle {cycle}[/red]")
        raise typer.Exit(code=2)
    differences = [(r.cycle_id, d) for r in reports for d in r.differences]
    settled = [r for r in reports if len(r.checked) > 1]
    if not differences:
        console.print(
            f"[green]ledger: {len(reports)} cycle(s), {len(settled)} settled, no difference[/green]"
        )
        for name in (settled or reports)[0].checked if reports else []:
            console.print(f"  [green]✓[/green] {name}")
        return
    table = Table(title=f"{len(differences)} ledger difference(s)")
    for column in ("cycle", "check", "subject", "expected", "actual"):
        table.add_column(column)
    for cycle_id, d in differences:
        table.add_row(cycle_id, d.check, d.subject, d.expected, d.actual)
    console.print(table)
    raise typer.Exit(code=1)


async def _reconcile(settings: Settings, grace_minutes: int) -> Reconciliation:
    from datetime import timedelta

    from app.core.db import create_engine, create_sessionmaker
    from app.payments.reconcile import reconcile

    engine = create_engine(settings)
    try:
        return await reconcile(
            create_sessionmaker(engine), settings, grace=timedelta(minutes=grace_minutes)
        )
    finally:
        await engine.dispose()


@payments_app.command("reconcile")
def payments_reconcile(
    grace_minutes: Annotated[
        int, typer.Option(min=0, help="leave holds younger than this alone")
    ] = 10,
) -> None:
    """Cancel Stripe holds that belong to no order; report holds Minga sees differently."""
    report = asyncio.run(_reconcile(get_settings(), grace_minutes))
    console.print(
        f"{report.checked} open holds checked, {len(report.cancelled)} orphans released, "
        f"{len(report.mismatches)} mismatches"
    )
    for ref in report.cancelled:
        console.print(f"  released {ref}")
    for line in report.mismatches:
        console.print(f"  [yellow]{line}[/yellow]")
    if report.mismatches:
        raise typer.Exit(code=1)


@cycles_app.command("tick")
def cycles_tick() -> None:
    """Open and close the cycles that are due (for cron; safe with several API workers)."""
    opened, closed, failed = asyncio.run(_tick(get_settings()))
    console.print(f"opened {len(opened)}, closed {len(closed)}, failed {len(failed)}")
    if failed:
        raise typer.Exit(code=1)


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="jobs this process runs at once")
    ] = 4,
    queue: Annotated[
        list[str] | None, typer.Option(help="only these queues (default: all)")
    ] = None,
) -> None:
    """Run the background jobs on PostgreSQL: e-mails, webhooks, the cycles' tick (procrastinate).

    Run one or more next to the API (any host that reaches the database); each runs every
    kind of job, and SIGTERM lets the running jobs finish. The embedded SQLite database needs
    none: its API process runs the jobs itself."""
    settings = get_settings()
    if settings.is_sqlite:
        console.print(
            "[yellow]the embedded SQLite database runs its jobs in the API process "
            "(minga serve / minga demo); minga worker is for PostgreSQL[/yellow]"
        )
        raise typer.Exit(code=2)
    from app.core.logging import configure_logging
    from app.flows.wiring import wire
    from app.jobs.worker import run_worker

    configure_logging(settings.log_level)
    wire()
    asyncio.run(run_worker(settings, concurrency=concurrency, queues=queue or None))


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
    reload: Annotated[bool, typer.Option()] = False,
) -> None:
    """Serve the API with uvicorn (several workers share one PostgreSQL database)."""
    settings = get_settings()  # refuse to start on bad settings before forking workers
    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=forwarded_allow_ips(settings),
        log_config=None,
        timeout_graceful_shutdown=30,
    )


def forwarded_allow_ips(settings: Settings) -> str:
    """Believe X-Forwarded-For only from the proxies named in the settings (uvicorn would
    otherwise trust it from 127.0.0.1 by default): none unless some are named."""
    return ",".join(settings.trusted_proxies)


def _fresh_demo_database() -> str:
    """Delete any old demo database (and its WAL files); the URL of a fresh one."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
    for old in Path(DEMO_MAIL_DIR).glob("*.eml"):  # the e-mails of the last demo
        old.unlink()
    return f"sqlite+aiosqlite:///./{DEMO_DATABASE}"


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
) -> None:
    """Load the Cotopaxi demo network on a fresh SQLite file, run a whole cycle through the
    API (orders, close, receipts, routes, delivery, settlement, a joint purchase), print the
    summary and the demo logins, and serve the API."""
    from app.demo.client import DemoStepFailed
    from app.demo.data import DEMO_PASSWORD
    from app.demo.report import local_time, render
    from app.demo.runner import run_demo

    started = time.perf_counter()
    url = _fresh_demo_database()
    os.environ["MINGA_DATABASE_URL"] = url
    os.environ.setdefault("MINGA_FIRST_ADMIN_EMAIL", DEMO_ADMIN_EMAIL)
    os.environ.setdefault("MINGA_FIRST_ADMIN_PASSWORD", DEMO_ADMIN_PASSWORD)
    get_settings.cache_clear()
    settings = get_settings()
    migrate.upgrade(url)
    console.print(f"[bold]Minga demo[/bold]: loading the Cotopaxi network into {DEMO_DATABASE}…")
    try:
        result = asyncio.run(run_demo(settings.model_copy(update=DEMO_LOADING)))
    except DemoStepFailed as exc:
        console.print("the demo stopped:", str(exc), style="red", markup=False)
        raise typer.Exit(code=1) from None
    out = console if console.is_terminal else Console(width=140)  # logs and pipes: wide
    render(out, result)
    table = Table(title="Minga demo")
    table.add_column("what")
    table.add_column("where", overflow="fold")
    table.add_row("database", str(DEMO_DATABASE.resolve()))
    table.add_row(
        "network dashboard", f"GET /api/v1/networks/{result.world.network['id']}/dashboard"
    )
    table.add_row(
        "open for orders",
        f"cycle {result.run.open_cycle['id']} until "
        f"{local_time(result.run.open_cycle['closes_at'])}: log in as a buyer and "
        "POST /api/v1/orders",
    )
    table.add_row(
        "public catalogue", f"http://{host}:{port}/api/v1/skus (no login: the shop window)"
    )
    if result.emails:
        sent = ", ".join(f"{n} {kind}" for kind, n in result.emails.items())
        where = Path(DEMO_MAIL_DIR).resolve()
        table.add_row("e-mails of the cycle", f"{sum(result.emails.values())} in {where}: {sent}")
    table.add_row("API docs", f"http://{host}:{port}/docs")
    table.add_row("health", f"http://{host}:{port}/healthz  ·  /readyz")
    table.add_row("platform admin", f"{result.admin.email} / {result.admin.password}")
    table.add_row("every other demo login", f"password {DEMO_PASSWORD}")
    table.add_row("elapsed", f"{time.perf_counter() - started:.1f} s")
    out.print(table)
    if serve_api:
        os.environ.setdefault("MINGA_MEDIA_DIR", DEMO_MEDIA_DIR)
        os.environ.setdefault("MINGA_MAIL_DIR", DEMO_MAIL_DIR)
        get_settings.cache_clear()
        serve(host=host, port=port, workers=1, reload=False)


if __name__ == "__main__":
    app()
