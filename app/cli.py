"""The ``curvehouse`` command: serve, demo, ingest, listen, info, clean-demo, features, token,
user.

Each command reads the settings once (:meth:`Settings.from_env`) and builds the process's
:class:`~app.services.Services` from them once; a command opens only the parts it uses.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm import tqdm

from models.settings import Settings
from models.wording import counted
from pipelines.synthetic.generator import DEMO_PROJECT
from providers import ProviderError

if TYPE_CHECKING:
    from app.services import Services
    from pipelines.live.broker import Publisher
    from pipelines.live.client import Tls

COMMAND_LINE = "operator (command line)"  # who the audit trail says acted


def _adopt(services: Services, project: str, **imported: object) -> None:
    """Give a new curve ``--project`` label its project, so its owners see it at once, and
    put the import in that project's audit trail."""
    from models.audit import audit
    from models.tables import Project
    from pipelines.projects import adopt_curve_projects

    made = []
    if services.homes.of(project).builtin:  # a project on a cluster exists already
        with services.curves() as curves, services.metadata.sessions() as session:
            made = adopt_curve_projects(session=session, curves=curves)
            session.commit()
    for name in made:
        print(f"Project {name!r} created for these curves; the first project's owners own it.")
    with services.metadata.sessions() as session:
        found = session.query(Project).filter(Project.name == project).one_or_none()
        if found is not None:
            audit(
                session,
                COMMAND_LINE,
                "dataset.import",
                "project",
                found.id,
                **imported,
            )
            session.commit()


def _project_label(services: Services, label: str) -> str:
    """The ``--project`` label, trimmed, once it names a project that exists or passes the
    check the API and the pages apply to a new project's name (it becomes one)."""
    from models import accounts
    from models.tables import Project

    with services.metadata.sessions() as session:
        try:
            return accounts.new_group_name(session, Project, label)
        except accounts.NameTaken:
            return label.strip()


def _project_store(services: Services, project: str):
    """A store on the home of ``project`` (the built-in engine for a label no project has yet),
    to write into; refused in words while the home cannot answer or a move compares copies."""
    homes = services.homes
    home = homes.for_writing(project)
    if not home.builtin:
        print(f"Project {project!r} lives on {home.label}.")
    return homes.store(home, project=project)


def cmd_demo(args: argparse.Namespace, services: Services) -> int:
    from pipelines.curves import Curves
    from pipelines.prefetch import prefetch
    from pipelines.store import DatasetSpec
    from pipelines.synthetic import DemoSpec, generate_demo

    args.project = _project_label(services, args.project)
    store = _project_store(services, args.project)
    existing = Curves(store.client, store.database, projects=(args.project,)).datasets(kind="demo")
    if not existing.empty and args.if_missing:
        curves = int(existing["curve_count"].sum())
        print(f"Demo data present: {counted(curves, 'curve')} in project {args.project!r}.")
        return 0
    spec = DemoSpec(
        curves=args.curves,
        seed=args.seed,
        days=args.days,
        project=args.project,
        start=pd.Timestamp(args.start, tz="UTC"),
    )
    print(
        f"Generating {spec.curves:,} demo curves (seed {spec.seed}, {spec.days:g} days from "
        f"{spec.start:%Y-%m-%d}) into {store.database} ..."
    )
    started = time.perf_counter()
    with tqdm(total=spec.curves, unit=" curves", dynamic_ncols=True, mininterval=0.3) as bar:

        def progress(curves: int, points: int) -> None:
            bar.update(curves - bar.n)
            rate = points / max(time.perf_counter() - started, 1e-9) / 1e6
            bar.set_postfix_str(f"{points:,} samples, {rate:.1f} M samples/s")

        result = store.write(
            prefetch(generate_demo(spec)),
            DatasetSpec(project=spec.project, kind="demo", name=f"demo seed={spec.seed}"),
            progress=progress,
        )
    seconds = time.perf_counter() - started
    print(
        f"Stored {counted(result.curves_added, 'curve')}, {counted(result.points_added, 'point')} "
        f"in {seconds:.1f} s "
        f"({result.points_added / seconds / 1e6:.1f} M points/s)."
    )
    if result.curves_skipped:
        skipped = result.curves_skipped
        print(
            f"{counted(skipped, 'curve')} {'was' if skipped == 1 else 'were'} already stored "
            "and skipped."
        )
    _adopt(
        services,
        spec.project,
        name=f"demo seed={spec.seed}",
        dataset=result.dataset_id,
        curves=result.curves_added,
        skipped=result.curves_skipped,
    )
    return 0


def cmd_ingest(args: argparse.Namespace, services: Services) -> int:
    from pathlib import Path

    from pipelines.ingest import ingest_file

    args.project = _project_label(services, args.project)
    store = _project_store(services, args.project)
    size = Path(args.path).stat().st_size if Path(args.path).is_file() else 0
    # A bar for large files on a terminal (None: off when stderr is not one, as in scripts),
    # so a refusal is the one line of stderr.
    with tqdm(
        total=size,
        unit="B",
        unit_scale=True,
        desc=Path(args.path).name,
        disable=True if size < 8 << 20 else None,
    ) as bar:
        report = ingest_file(
            store,
            args.path,
            project=args.project,
            metadata=args.metadata,
            encoding=args.encoding,
            delimiter=args.delimiter,
            decimal=args.decimal,
            progress=lambda done, total: bar.update(done - bar.n),
        )
    print(report.summary())
    _adopt(
        services,
        args.project,
        name=Path(args.path).name,
        dataset=report.written.dataset_id or report.already_imported,
        curves=report.written.curves_added,
        skipped=report.written.curves_skipped,
    )
    return 0


def cmd_info(args: argparse.Namespace, services: Services) -> int:
    from pipelines.curves import Curves

    settings = services.settings
    store = services.open_store()
    print("Engine:   ", ", ".join(f"{k}={v}" for k, v in services.engine.describe().items()))
    print("Database: ", settings.database)
    print("Home:     ", settings.home)
    stored = Curves(store.client, settings.database)
    overview = stored.overview()
    print(
        f"Curves:    {overview.curves:,} ({counted(overview.points, 'point')}) in "
        f"{counted(overview.datasets, 'dataset')}, {counted(overview.projects, 'project')}"
    )
    sizes = stored.storage()
    if not sizes.empty:
        print("\nTables:")
        for row in sizes.itertuples():
            print(
                f"  {row.table:<18} {row.rows:>12,} rows {row.compressed_bytes / 1e6:>10.1f} MB "
                f"(uncompressed {row.uncompressed_bytes / 1e6:.1f} MB)"
            )
        bpp = stored.bytes_per_point(overview.points)
        if bpp:
            print(f"  samples and levels: {bpp:.2f} bytes per stored (x, y) point")
    _print_cluster_homes(services)
    datasets = stored.datasets()
    if not datasets.empty:
        print("\nDatasets (built-in engine):")
        for row in datasets.itertuples():
            print(
                f"  {row.dataset_id}  {row.kind:<6} {row.project:<12} "
                f"{row.curve_count:>9,} curves  "
                f"{row.name}"
            )
    return 0


def _print_cluster_homes(services: Services) -> None:
    """The projects whose curves live on clusters, with what each holds (or why not)."""
    from models.tables import Project
    from pipelines.homes import HomeUnavailable

    with services.metadata.sessions() as session:
        names = [
            n for (n,) in session.query(Project.name).filter(Project.home_cluster_id.isnot(None))
        ]
    grouped = {h: p for h, p in services.homes.grouped(names).items() if not h.builtin}
    if not grouped:
        return
    print("\nProjects on clusters:")
    for home, projects in grouped.items():
        for project in projects:
            try:
                with services.homes.reader(project) as curves:
                    held = curves.overview()
                said = f"{counted(held.curves, 'curve')} ({counted(held.points, 'point')})"
            except HomeUnavailable as exc:
                said = str(exc)
            print(f"  {project:<16} on {home.label} ({home.status}): {said}")


def cmd_clean_demo(args: argparse.Namespace, services: Services) -> int:
    from pipelines.curves import Curves

    store = services.open_store()
    demo = Curves(store.client, store.database).datasets(kind="demo")
    if demo.empty:
        print("No demo data stored; nothing to remove.")
        return 0
    curves = int(demo["curve_count"].sum())
    store.delete_datasets([str(d) for d in demo["dataset_id"]])
    print(
        f"Removed {counted(len(demo), 'demo dataset')} with {counted(curves, 'curve')}. "
        "Imported data is untouched."
    )
    return 0


def cmd_features(args: argparse.Namespace, services: Services) -> int:
    from pipelines.features import backfill_features, missing_features

    store = services.open_store()
    if not args.backfill:
        missing = len(missing_features(store.client, store.database))
        print(f"{counted(missing, 'stored curve')} without features in {store.database}.")
        return 0
    started = time.perf_counter()
    added = backfill_features(store.client, store.database)
    print(
        f"Computed the features of {counted(added, 'curve')} in "
        f"{time.perf_counter() - started:.1f} s."
    )
    from app.feature_fill import fill
    from pipelines.configured import StoredFeatures

    for project in StoredFeatures(services.metadata).projects():  # on each project's home
        started = time.perf_counter()
        written = fill(services, project)
        print(
            f"Project {project}: computed {counted(written, 'value')} of its configured "
            f"features in {time.perf_counter() - started:.1f} s."
        )
    return 0


def cmd_serve(args: argparse.Namespace, services: Services) -> int:
    from app.server import serve

    serve(services, show=args.show, origins=tuple(args.allow_websocket_origin))
    return 0


def cmd_listen(args: argparse.Namespace, services: Services) -> int:
    """Live ingest without the web app: the MQTT listener, on the plant's broker
    (CURVEHOUSE_MQTT_URL) or on Curvehouse's own mosquitto, until Ctrl-C or SIGTERM."""
    import threading

    from app.live import LiveIngestError, start_live_ingest
    from pipelines.live.broker import BrokerError, BrokerMissingError, kept_publishers, topic_of
    from pipelines.live.claim import ListenerTaken

    s = services.settings
    publishers = []
    if not s.mqtt_url:
        wanted = []
        for given in args.publisher:
            name, _, project = given.partition(":")
            if not project:
                raise ValueError(f"--publisher {given!r}: write NAME:PROJECT, e.g. line1:demo")
            wanted.append((name, project))
        publishers = kept_publishers(s.home.absolute() / "broker", wanted)

    def report(outcome, seconds: float) -> None:
        refused = f", refused {len(outcome.dead)}" if outcome.dead else ""
        skipped = f", skipped {outcome.skipped} already stored" if outcome.skipped else ""
        print(
            f"committed {counted(outcome.committed, 'curve')} in {seconds:.2f} s{skipped}{refused}",
            flush=True,
        )

    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    try:
        live = start_live_ingest(services, publishers=publishers, on_batch=report)
    except (LiveIngestError, ListenerTaken, BrokerError, BrokerMissingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if live.broker is not None:
            print(f"MQTT broker (mosquitto) on localhost:{live.broker.port}")
            for p in publishers:
                print(
                    f"  login {p.username!r} may publish to "
                    f"{topic_of(s.mqtt_topic_prefix, p.project)} "
                    f"(password in {s.home.absolute() / 'broker' / 'publishers.json'})"
                )
        config = live.config
        if live.feeds is None:
            print(f"Listening to {config.topic} on {config.host}:{config.port}", flush=True)
        else:
            print(
                f"Listening on the plant's broker {config.host}:{config.port} through "
                f"{len(live.feeds.feeds.running)} broker feed(s) (followed as owners map and "
                f"revoke them); {config.topic} is watched for messages no feed reads",
                flush=True,
            )
        stop.wait()
    finally:
        live.stop()
    return 0


def _run_gateway(
    args: argparse.Namespace,
    services: Services,
    projects: list[str],
    logins: Callable[[], dict[str, Publisher]],
    begin: Callable[[str, int, dict[str, tuple[str, str]], bool], Any],
    said: str,
) -> int:
    """Publish as a gateway until Ctrl-C or SIGTERM: to ``--url``'s broker with its login, or
    to Curvehouse's own (adopted when serve or listen runs it) with ``logins()``, one per
    project. ``begin(host, port, logins, tls)`` starts the publishing and returns an object
    whose ``stop()`` says how many curves went out."""
    import threading

    from app.live import LiveIngestError
    from pipelines.live.broker import BrokerError, BrokerMissingError, EmbeddedBroker
    from pipelines.live.listener import ListenerConfig

    s = services.settings
    broker = None
    try:
        if args.url:
            target = ListenerConfig.from_url(args.url, ca_file=s.mqtt_ca_path)
            mine = dict.fromkeys(projects, (target.username or "", target.password or ""))
        else:
            publishers = logins()
            broker = EmbeddedBroker(
                s.home.absolute(),
                port=s.mqtt_port,
                prefix=s.mqtt_topic_prefix,
                publishers=list(publishers.values()),
            ).start()
            target = ListenerConfig(host="127.0.0.1", port=broker.port)
            mine = {project: (p.username, p.secret) for project, p in publishers.items()}
        stop = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
        running = begin(target.host, target.port, mine, target.tls)
    except (LiveIngestError, BrokerError, BrokerMissingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{said} on {target.host}:{target.port} (Ctrl+C to stop)", flush=True)
    if broker is not None and broker.owned:
        print(
            "No curvehouse serve or listen runs on this home: the broker keeps the curves for "
            "the listener's session until one starts.",
            flush=True,
        )
    stop.wait()
    sent = running.stop()
    print(f"Stopped: published {counted(sent, 'curve')}.", flush=True)
    if broker is not None and broker.owned:  # started here, not adopted
        broker.stop()
    return 0


def _report(sent: int) -> None:
    print(f"published {counted(sent, 'curve')}", flush=True)


def cmd_simulate(args: argparse.Namespace, services: Services) -> int:
    """The demo plant's parts, published over MQTT as they are made, until Ctrl-C or SIGTERM."""
    from app.live import simulator_login, start_simulation
    from pipelines.live.broker import topic_of
    from pipelines.live.simulator import parse_rate, pick_stations

    s = services.settings
    rate = parse_rate(args.rate)
    stations = pick_stations([n.strip() for n in args.stations.split(",") if n.strip()])

    def begin(host: str, port: int, logins: dict[str, tuple[str, str]], tls: Tls | None):
        username, password = logins[args.project]
        return start_simulation(
            host=host,
            port=port,
            username=username,
            password=password,
            tls=tls,
            project=args.project,
            prefix=s.mqtt_topic_prefix,
            rate=rate,
            stations=stations,
            report=_report,
        )

    topic = topic_of(s.mqtt_topic_prefix, args.project)
    return _run_gateway(
        args,
        services,
        [args.project],
        lambda: {args.project: simulator_login(services, args.project)},
        begin,
        f"Publishing the demo plant's parts to {topic} at {args.rate}",
    )


def cmd_opcua(args: argparse.Namespace, services: Services) -> int:
    """Curves read from machines over OPC UA, published over MQTT like a gateway."""
    from app.live import opcua_logins, start_opcua
    from pipelines.live.opcua import StationConfigError, load_stations

    try:
        stations = load_stations(Path(args.stations))
    except StationConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    projects = sorted({station.project for station in stations})

    def begin(host: str, port: int, logins: dict[str, tuple[str, str]], tls: Tls | None):
        return start_opcua(
            stations,
            host=host,
            port=port,
            logins=logins,
            prefix=services.settings.mqtt_topic_prefix,
            tls=tls,
            report=_report,
        )

    return _run_gateway(
        args,
        services,
        projects,
        lambda: opcua_logins(services, projects),
        begin,
        f"Reading {counted(len(stations), 'station')} over OPC UA for "
        + ", ".join(repr(p) for p in projects),
    )


def cmd_token(args: argparse.Namespace, services: Services) -> int:
    """Personal API tokens, for whoever runs this machine (the operator): scripts, curl."""
    from models import accounts
    from models.tables import utcnow

    with services.metadata.sessions() as session:
        user = accounts.find_user(session, args.email)
        if user is None:
            raise accounts.AccountError(f"There is no account for {args.email}.")
        if args.token_command == "create":
            secret, token = accounts.issue_token(
                session=session, user=user, name=args.name, days=args.days
            )
            session.commit()
            # The secret alone on stdout, so TOKEN=$(curvehouse token create ...) works.
            print(
                f"Token {token.id} ({token.name!r}) for {user.email}, valid until "
                f"{token.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now:",
                file=sys.stderr,
            )
            print(secret)
        elif args.token_command == "revoke":
            token = accounts.revoke_token(session=session, user=user, token_id=args.id)
            session.commit()
            print(f"Revoked token {token.id} ({token.name!r}) of {user.email}.")
        else:
            now = utcnow()
            if not user.api_tokens:
                print(f"{user.email} has no API tokens.")
            for token in sorted(user.api_tokens, key=lambda t: t.id):
                state = accounts.token_state(token, now)
                used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
                print(
                    f"  {token.id:>4}  {token.prefix}...  {state:<7}  expires "
                    f"{token.expires_at:%Y-%m-%d}  last used {used:<16}  {token.name}"
                )
    return 0


def cmd_user(args: argparse.Namespace, services: Services) -> int:
    """Accounts, for the operator: the list, a new password when one is lost or stolen (it ends
    the person's sessions), locking, unlocking or removing a person (signed out at once)."""
    import getpass

    from models import accounts
    from models.access import operator
    from models.credentials import generated_password
    from models.tables import User

    actor = operator(COMMAND_LINE)
    with services.metadata.sessions() as session:
        if args.user_command == "list":
            for user in session.query(User).order_by(User.id):
                roles = ", ".join(f"{m.project.name}: {m.role}" for m in user.project_memberships)
                print(f"  {user.id:>4}  {user.email:<32} {roles or '(no project)'}")
            return 0
        user = accounts.find_user(session, args.email)
        if user is None:
            raise accounts.AccountError(f"There is no account for {args.email}.")
        email = user.email
        if args.user_command == "remove":
            accounts.remove_user(session=session, actor=actor, user=user)
            session.commit()
            print(f"Removed {email}; their sessions ended and their API tokens are gone.")
            return 0
        if args.user_command in ("lock", "unlock"):
            change = accounts.lock_user if args.user_command == "lock" else accounts.unlock_user
            change(session=session, actor=actor, user=user)
            session.commit()
            print(
                f"Locked {email}: signed out everywhere; sign-in and API tokens are refused "
                "until `curvehouse user unlock`."
                if args.user_command == "lock"
                else f"Unlocked {email}: they can sign in again."
            )
            return 0
        password = generated_password() if args.generate else getpass.getpass("New password: ")
        accounts.set_password(session=session, actor=actor, user=user, password=password)
        session.commit()
    print(f"Every session of {email} has ended; it signs in again with the new password.")
    if args.generate:
        print(f"New password for {email}, shown only now: {password}")
    else:
        print(f"Password of {email} changed.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="curvehouse",
        description="Manufacturing curve analytics on ClickHouse. Settings come from "
        "CURVEHOUSE_* environment variables (CURVEHOUSE_HOME, CURVEHOUSE_ENGINE, ...).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app (default http://localhost:5006)")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--address", default=None)
    serve.add_argument("--show", action="store_true", help="open a browser")
    serve.add_argument(
        "--allow-websocket-origin",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="also accept browsers that reach the app under this name (repeatable), "
        "e.g. a plant-floor host name when serving with --address 0.0.0.0",
    )
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="generate the synthetic demo plant's curves")
    demo.add_argument("--curves", type=int, default=10_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--days", type=float, default=7.0)
    demo.add_argument("--start", default="2026-11-16 06:00", help="first shift start (UTC)")
    demo.add_argument("--project", default=DEMO_PROJECT)
    demo.add_argument("--if-missing", action="store_true", help="do nothing if demo data exists")
    demo.set_defaults(func=cmd_demo)

    ingest = sub.add_parser("ingest", help="import a CSV or Parquet file of curves")
    ingest.add_argument("path")
    ingest.add_argument("--project", required=True)
    ingest.add_argument("--metadata", help="per-curve metadata file keyed by curve_key")
    ingest.add_argument("--encoding", default="utf-8", help="text encoding of CSV files")
    ingest.add_argument(
        "--delimiter",
        choices=(",", ";"),
        help="a CSV's separator (default: read from its header line)",
    )
    ingest.add_argument(
        "--decimal",
        choices=(".", ","),
        help="a ';' CSV's decimal mark (default: its first x/y value with one decides)",
    )
    ingest.set_defaults(func=cmd_ingest)

    listen = sub.add_parser(
        "listen", help="ingest curves published over MQTT (without the web app)"
    )
    listen.add_argument(
        "--publisher",
        action="append",
        default=[],
        metavar="NAME:PROJECT",
        help="on the embedded broker: a login that may publish the curves of PROJECT "
        "(repeatable; its password is made once and kept under CURVEHOUSE_HOME/broker)",
    )
    listen.set_defaults(func=cmd_listen)

    simulate = sub.add_parser(
        "simulate", help="publish the demo plant's parts over MQTT at takt time, like a gateway"
    )
    simulate.add_argument("--rate", default="5/s", help="curves per second or minute: 5/s, 300/min")
    simulate.add_argument(
        "--stations", default="", help="only these stations, comma-separated: ST010 or LEJ-L1-ST010"
    )
    simulate.add_argument("--project", default=DEMO_PROJECT)
    simulate.add_argument(
        "--url",
        default="",
        help="the broker, mqtt[s]://user:password@host:port (default: Curvehouse's own, started "
        "by curvehouse serve or listen, with a login for the simulator)",
    )
    simulate.set_defaults(func=cmd_simulate)

    opcua = sub.add_parser(
        "opcua", help="read curves from machines over OPC UA and publish them over MQTT"
    )
    opcua.add_argument(
        "--stations",
        required=True,
        help="a JSON file of the stations: endpoint, project, station, counter, x, y node ids",
    )
    opcua.add_argument(
        "--url",
        default="",
        help="the broker, mqtt[s]://user:password@host:port (default: Curvehouse's own, started "
        "by curvehouse serve or listen, with a login per project)",
    )
    opcua.set_defaults(func=cmd_opcua)

    info = sub.add_parser("info", help="what is stored where, with sizes")
    info.set_defaults(func=cmd_info)

    clean = sub.add_parser("clean-demo", help="remove demo data, and only demo data")
    clean.set_defaults(func=cmd_clean_demo)

    features = sub.add_parser(
        "features", help="curve features (peak, area, ...): how many curves lack them"
    )
    features.add_argument(
        "--backfill",
        action="store_true",
        help="compute them, and the projects' configured features, for every stored curve "
        "lacking them",
    )
    features.set_defaults(func=cmd_features)

    token = sub.add_parser("token", help="personal API tokens for the REST API (/api)")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="make a token and print it, once")
    create.add_argument("email", help="the account the token acts as")
    create.add_argument("--name", required=True, help="what it is for, e.g. 'line-7 import job'")
    create.add_argument("--days", type=int, default=90, help="lifetime in days (1-365)")
    token_sub.add_parser("list", help="an account's tokens (never their secrets)").add_argument(
        "email"
    )
    revoke = token_sub.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("email")
    revoke.add_argument("id", type=int)
    token.set_defaults(func=cmd_token)

    user = sub.add_parser(
        "user", help="accounts: list them, set a lost password, lock, unlock or remove one"
    )
    user_sub = user.add_subparsers(dest="user_command", required=True)
    user_sub.add_parser("list", help="every account with its projects and roles")
    password = user_sub.add_parser(
        "set-password", help="set an account's password (asked for) and lift a lockout"
    )
    password.add_argument("email")
    password.add_argument(
        "--generate", action="store_true", help="generate one and print it instead of asking"
    )
    user_sub.add_parser(
        "remove", help="delete an account and sign it out everywhere (not a project's last owner)"
    ).add_argument("email")
    user_sub.add_parser(
        "lock", help="lock an account out: signed out everywhere, sign-in and tokens refused"
    ).add_argument("email")
    user_sub.add_parser("unlock", help="let a locked account sign in again").add_argument("email")
    user.set_defaults(func=cmd_user)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from app import logs
    from models.home import private_umask
    from pipelines.schema import SchemaError

    private_umask()  # the home, its store, keys, engine data and node logs: this account's only
    logs.install()  # query strings with secrets are never logged as they are
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `curvehouse info | head` ends quietly
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "serve":  # the command line's --port and --address win
            settings = settings.with_overrides(
                port=args.port if args.port is not None else settings.port,
                address=args.address or settings.address,
            )
        from app.services import Services

        with Services(settings) as services:
            return args.func(args, services)
    # IngestError, ImportConflictError and SettingsError are ValueErrors.
    except (ValueError, ProviderError, SchemaError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: nothing was committed; leftovers are cleared when the store next opens",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
