"""The `wirewatch` command line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from . import __version__
from .errors import BrokerUnavailable, ConfigError, WirewatchError
from .settings import Settings

if TYPE_CHECKING:
    from .broker import BrokerFile

app = typer.Typer(
    name="wirewatch",
    help="Streaming news ingest: deduplicated wire stories, attributed claims and typed contradictions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
feeds_app = typer.Typer(help="List, add, pause, resume and remove feeds (through the feeds topic).",
                        no_args_is_help=False, invoke_without_command=True)
topics_app = typer.Typer(help="Kafka topic administration.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
app.add_typer(topics_app, name="topics")

log = logging.getLogger("wirewatch")

# Where `wirewatch run` records the address of its embedded broker, so that
# `wirewatch tail` and `wirewatch feeds` in another terminal find it.
BROKER_FILE = "embedded-broker"
_USE_RUN = "(use `wirewatch run` for the embedded broker)"


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise ConfigError(f"invalid setting WIREWATCH_{field.upper()}: {first.get('msg')}") from None


def _setup_logging(settings: Settings, verbose: bool = False, *, client: bool = False) -> None:
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr, force=True)
    # faust/aiokafka are chatty at INFO; their warnings still show.
    for name in ("faust", "mode", "aiokafka", "kafka", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    if client and not verbose and settings.log_level != "DEBUG":
        # A client command (tail, feeds) says itself, in one line, when its broker is gone;
        # aiokafka would log an ERROR for every reconnect attempt, forever.
        for name in ("aiokafka", "kafka"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _broker_file(settings: Settings) -> Path:
    return settings.data_dir / BROKER_FILE


def _client_broker(settings: Settings) -> BrokerFile:
    """For client commands: the configured cluster, else a running `wirewatch run`'s broker.

    A broker file left behind by a `wirewatch run` that has exited (killed, crashed) or
    whose broker no longer answers is one clear error, not a client retrying forever.
    """
    from .broker import BrokerFile, answers

    if settings.kafka_bootstrap:
        return BrokerFile(settings.kafka_bootstrap)
    path = _broker_file(settings)
    found: BrokerFile | None = None
    with contextlib.suppress(OSError, UnicodeDecodeError):
        found = BrokerFile.parse(path.read_text())
    if found is None:
        raise ConfigError(
            "no Kafka to talk to: set WIREWATCH_KAFKA_BOOTSTRAP, or start `wirewatch run` "
            f"(its embedded broker's address is kept in {path})"
        )
    gone = found.gone()
    if gone is None and not answers(found.bootstrap):
        gone = "nothing answers there"
    if gone is not None:
        raise BrokerUnavailable(
            f"the embedded broker at {found.bootstrap} ({path}) is gone: {gone}; "
            "start `wirewatch run` again, or set WIREWATCH_KAFKA_BOOTSTRAP"
        )
    return found


def _client(settings: Settings) -> tuple[Settings, BrokerFile]:
    """For client commands: the settings to use (the topic names a running `wirewatch run`
    uses now: its renewals move them) and the broker."""
    found = _client_broker(settings)
    if found.topics and found.topics != settings.topic_prefix:
        settings = settings.model_copy(update={"topic_prefix": found.topics})
    return settings, found


class _RunBroker:
    """The broker of `wirewatch run`; when embedded, the file that tells client commands
    where it is and which topics the run uses now (wirewatch/renewal.py moves them)."""

    def __init__(self, bootstrap: str, path: Path | None = None) -> None:
        self.bootstrap = bootstrap
        self.path = path
        self.topics: str | None = None
        self._written: str | None = None

    def announce(self, topics: str | None = None, status: str | None = None) -> None:
        from .broker import BrokerFile

        if self.path is None:
            return
        self.topics = topics or self.topics
        record = BrokerFile(self.bootstrap, owner=os.getpid(), topics=self.topics, status=status).render()
        if record != self._written:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(record)
            tmp.replace(self.path)  # a reader sees the old file or the new one, never half
            self._written = record

    def withdraw(self) -> None:
        with contextlib.suppress(OSError):
            if self.path is not None and self.path.read_text() == self._written:
                self.path.unlink()


@contextlib.contextmanager
def _embedded_or_configured(settings: Settings) -> Iterator[_RunBroker]:
    """Yield the broker; start (and finally stop) the embedded broker if none is set."""
    if settings.kafka_bootstrap:
        yield _RunBroker(settings.kafka_bootstrap)
        return
    from .broker import EmbeddedBroker

    with EmbeddedBroker() as embedded:
        path = _broker_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        broker = _RunBroker(embedded.bootstrap, path)
        broker.announce(settings.topic_prefix)
        log.info("embedded broker (memory only, for development) at %s", embedded.bootstrap)
        try:
            yield broker
        finally:
            broker.withdraw()


def _serve_metrics(settings: Settings, host: str) -> None:
    """/metrics on ``host`` (see metrics.LOCAL_ONLY / ALL_INTERFACES), logged as really listened on."""
    from . import metrics

    served = metrics.serve(settings.metrics_port, host)
    if served:
        log.info("metrics at %s", served)


def run_worker(wapp: Any, settings: Settings) -> None:
    """A faust worker over ``wapp`` until it stops (Ctrl-C, SIGTERM, or a renewal of the embedded broker's topics)."""
    import signal

    import faust

    from .diagnostics import log_dump

    try:
        wapp.start_nlp()  # spawned before faust starts its threads, ready before it consumes
        worker = faust.Worker(wapp.app, loglevel=settings.log_level.lower(), quiet=True,
                              redirect_stdouts=False, override_logging=False)
        # mode's SIGUSR2 opens pdb on stdin, which a service has no use for: log where tasks wait instead.
        worker._on_sigusr2 = log_dump  # type: ignore[method-assign]
        if wapp.renewal is not None:  # a renewal stops the worker the way SIGTERM does
            wapp.renewal.stop_worker = lambda: worker._schedule_shutdown(signal.SIGTERM)
        with contextlib.suppress(SystemExit):
            worker.execute_from_commandline()
    finally:
        wapp.close()


# ---------------------------------------------------------------------- run
@app.command()
def run(
    feeds_file: Annotated[
        Path | None, typer.Option("--feeds", help="YAML/TOML feed list (default: demo feeds)")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run everything: the embedded broker if no Kafka is set, the pollers and the processor (Ctrl-C stops)."""
    settings = _settings()
    if feeds_file is not None:
        settings = settings.model_copy(update={"feeds_file": feeds_file})
    _setup_logging(settings, verbose)
    from . import metrics
    from .demo import DemoFeedServer
    from .poller.feedsfile import load_feeds
    from .renewal import run_generations

    demo: DemoFeedServer | None = None
    if settings.feeds_file is None:
        demo = DemoFeedServer().start()
        feeds = demo.feeds()
        # The demo feeds are on loopback, which the SSRF guard refuses unless allowed.
        settings = settings.model_copy(update={"allow_hosts": [*settings.allow_hosts, "127.0.0.1"]})
        log.info("no feeds configured: polling the %d demo feeds served at %s", len(feeds), demo.base_url)
    else:
        feeds = load_feeds(settings.feeds_file)
    try:
        with _embedded_or_configured(settings) as broker:
            _serve_metrics(settings, metrics.LOCAL_ONLY)
            # (Ctrl-C between two generations of a renewal, when no worker handles it)
            with contextlib.suppress(KeyboardInterrupt):
                run_generations(settings, broker.bootstrap, feeds, run_worker=run_worker, notice=broker)
    finally:
        if demo is not None:
            demo.stop()
    typer.echo("wirewatch: stopped", err=True)


@app.command()
def poller(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run only the feed poller (production: one or more beside the processors)."""
    settings = _settings()
    _setup_logging(settings, verbose)
    if not settings.kafka_bootstrap:
        raise ConfigError(f"`wirewatch poller` needs WIREWATCH_KAFKA_BOOTSTRAP {_USE_RUN}")
    from . import metrics
    from .poller.feedsfile import load_feeds
    from .poller.kafka import PollerRunner, seed_feeds

    bootstrap = settings.kafka_bootstrap
    if settings.feeds_file is not None:
        asyncio.run(seed_feeds(settings, bootstrap, load_feeds(settings.feeds_file)))
    _serve_metrics(settings, metrics.ALL_INTERFACES)

    async def main() -> None:
        import signal

        # aiokafka clients must be created inside the running loop
        runner = PollerRunner(settings, bootstrap, state_path=settings.data_dir / "poller-state.json")
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # A stop request cancels the runner, which closes clients and saves state.
            loop.add_signal_handler(sig, task.cancel)  # type: ignore[union-attr]
        with contextlib.suppress(asyncio.CancelledError):
            await runner.run()
        log.info("poller stopped")

    asyncio.run(main())


@app.command()
def processor(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run only the processor (dedup, extraction, ledger); start several to share partitions."""
    settings = _settings()
    _setup_logging(settings, verbose)
    if not settings.kafka_bootstrap:
        raise ConfigError(f"`wirewatch processor` needs WIREWATCH_KAFKA_BOOTSTRAP {_USE_RUN}")
    from . import metrics
    from .processor.stream.app import WirewatchApp

    _serve_metrics(settings, metrics.ALL_INTERFACES)
    wapp = WirewatchApp(settings, settings.kafka_bootstrap)
    wapp.on_stall = lambda _stall: _restart_processor(wapp, "the stall")
    wapp.on_skip = lambda _skip: _restart_processor(wapp, "the skipped records")
    run_worker(wapp, settings)


def _restart_processor(wapp: Any, what: str) -> None:
    """Replace this process with a fresh `wirewatch processor` (same pid, args and environment).

    Safe at any moment, like a crash: tables come back from their changelogs and
    uncommitted records are read again, with the same output ids.
    """
    log.error("restarting the processor to recover from %s", what)
    wapp.close()  # the NLP worker processes would outlive the exec
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.argv])


# ---------------------------------------------------------------------- replay
@app.command()
def replay(
    feeds: Annotated[list[Path], typer.Argument(help="feed files (RSS/Atom/JSON Feed)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory")],
    max_items: Annotated[int | None, typer.Option(
        "--max-items", min=1, help="read at most this many items of each file (default: all)")] = None,
) -> None:
    """Run the processor's code over feed files, without a broker; write stories/claims/alerts JSONL."""
    settings = _settings()
    _setup_logging(settings)
    from .replay import replay as do_replay

    summary = do_replay(feeds, out, settings, progress=lambda m: typer.echo(f"wirewatch: {m}", err=True),
                        max_items=max_items)
    typer.echo(
        f"{summary.stories} stories ({summary.unique} unique, {summary.duplicates} duplicates, "
        f"{summary.updates} updates), {summary.claims} claims, {summary.new_claims} new_claim and "
        f"{summary.contradictions} contradiction alerts in {summary.disputes} disputes -> {summary.out_dir}"
        + (f" (not read: {summary.not_read})" if summary.not_read else "")
        + (f" ({summary.over_budget})" if summary.over_budget else "")
    )


# ---------------------------------------------------------------------- review
@app.command()
def review(
    replay_dir: Annotated[Path, typer.Argument(help="a `wirewatch replay --out` directory")],
    judged: Annotated[Path, typer.Option("--judged", help="judgement file (JSON lines; see docs/evaluation-log.md)")],
    set_name: Annotated[str, typer.Option("--set", help="set name for new judgement lines (default: the dir's name)")]
    = "",
    templates: Annotated[bool, typer.Option("--templates", help="print a judgement line for each unjudged alert")]
    = False,
) -> None:
    """List every contradiction alert of a replay with its judgement; exit 1 if one is false or unjudged."""
    from .review import contradiction_alerts, load_judgements, report, template
    from .review import review as do_review

    rows = do_review(contradiction_alerts(replay_dir), load_judgements(judged))
    for line in report(rows):
        typer.echo(line)
    if templates:
        for r in rows:
            if r.judgement is None:
                typer.echo(template(set_name or replay_dir.name, r))
    if any(r.status != "TRUE" for r in rows):
        raise typer.Exit(1)


# ---------------------------------------------------------------------- tail
@app.command()
def tail(
    from_beginning: Annotated[bool, typer.Option("--from-beginning/--new-only",
                                                 help="show alerts already sent")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON alert per line")] = False,
    max_alerts: Annotated[int, typer.Option("--max", help="stop after this many (0 = never)")] = 0,
    timeout: Annotated[float, typer.Option("--timeout", help="stop after this many seconds (0 = never)")] = 0,
) -> None:
    """Print alerts (new claims and contradictions) as they arrive, readable for a person."""
    settings = _settings()
    _setup_logging(settings, client=True)
    broker = _client_broker(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_tail(settings, broker, from_beginning, as_json, max_alerts, timeout))


async def _tail(settings: Settings, broker: BrokerFile, from_beginning: bool, as_json: bool,
                max_alerts: int, timeout: float) -> None:
    import orjson

    from .broker import BrokerFile, BrokerWatch
    from .models import ContradictionAlert, NewClaimAlert
    from .offsets import read_to_end, stop_quietly
    from .processor.render import format_alert

    class Enough(Exception):
        pass

    bootstrap = broker.bootstrap
    prefix = broker.topics or settings.topic_prefix
    consumer = await _alert_consumer(settings, bootstrap, prefix, "earliest" if from_beginning else "latest")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout else None
    shown = 0
    watch = BrokerWatch(broker, patience=settings.broker_timeout_seconds)
    next_look = loop.time() + watch.every

    def show(m: Any) -> None:
        nonlocal shown
        if m.value is None:
            return
        if as_json:
            typer.echo(m.value.decode("utf-8", "replace"))
        else:
            data = orjson.loads(m.value)
            alert = (ContradictionAlert if data.get("type") == "contradiction" else NewClaimAlert).model_validate(data)
            typer.echo(format_alert(alert))
            typer.echo("")
        shown += 1
        if max_alerts and shown >= max_alerts:
            raise Enough

    try:
        if not as_json:
            typer.echo(f"-- alerts from {bootstrap} (Ctrl-C stops) --", err=True)
        while deadline is None or loop.time() < deadline:
            gone = await watch.gone()
            if gone is not None:
                raise BrokerUnavailable(f"Kafka at {bootstrap} is gone ({gone}); tail stopped")
            if not settings.kafka_bootstrap and loop.time() >= next_look:
                # `wirewatch run` renewed the embedded broker's topics: the rest of the old alert
                # topics (kept until the next renewal), then the new ones from their start
                next_look = loop.time() + watch.every
                now: BrokerFile | None = None
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    now = BrokerFile.parse(_broker_file(settings).read_text())
                if now is not None and now.topics and now.topics != prefix:
                    await read_to_end(consumer, consumer.assignment(), show, settings.broker_timeout_seconds)
                    await stop_quietly(consumer)
                    prefix = now.topics
                    consumer = await _alert_consumer(settings, bootstrap, prefix, "earliest")
                    if not as_json:
                        typer.echo(f"-- the embedded broker's topics were renewed: now {prefix}.* --", err=True)
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                for m in msgs:
                    show(m)
    except Enough:
        return
    finally:
        await stop_quietly(consumer)


async def _alert_consumer(settings: Settings, bootstrap: str, prefix: str, reset: str) -> Any:
    """A started consumer of the two alert topics under ``prefix``; one error if nobody answers."""
    from aiokafka import AIOKafkaConsumer

    from .admin import kafka_client_kwargs
    from .topics import Topics

    topics = Topics(prefix, settings.topic_partitions)
    consumer = AIOKafkaConsumer(
        topics.new_claim.name, topics.contradiction.name,
        **kafka_client_kwargs(settings, bootstrap),
        enable_auto_commit=False, group_id=None, auto_offset_reset=reset, fetch_max_wait_ms=100,
    )
    try:
        await asyncio.wait_for(consumer.start(), timeout=settings.broker_timeout_seconds)
    except Exception as exc:  # aiokafka raises several kinds; all mean "nobody answers"
        with contextlib.suppress(Exception):
            await consumer.stop()
        raise BrokerUnavailable(f"Kafka at {bootstrap} does not answer ({type(exc).__name__})") from None
    return consumer


# ---------------------------------------------------------------------- feeds
@feeds_app.callback()
def feeds_main(ctx: typer.Context) -> None:
    """With no subcommand: list the feeds."""
    if ctx.invoked_subcommand is None:
        feeds_list()


@feeds_app.command("list")
def feeds_list() -> None:
    """List feeds: configuration from the feeds topic, state from this machine's poller."""
    settings = _settings()
    _setup_logging(settings, client=True)
    from .poller.kafka import read_feeds

    settings, broker = _client(settings)
    feeds = asyncio.run(read_feeds(settings, broker.bootstrap))
    status = _poller_status(settings.data_dir / "poller-state.json")
    if broker.status:  # `wirewatch run` on the embedded broker: how far it is from its next renewal
        typer.echo(f"embedded broker (memory only; for production set WIREWATCH_KAFKA_BOOTSTRAP): {broker.status}")
    if not feeds:
        typer.echo("no feeds (add one with `wirewatch feeds add URL --outlet NAME`)")
        return
    typer.echo(f"{'feed':24} {'state':8} {'fails':>5} {'error':14} {'last success':20} {'dropped':>7} url")
    for feed_id, f in sorted(feeds.items()):
        st = status.get(feed_id, {})
        for line in _feed_lines(feed_id, "paused" if f.paused else _state_word(st), f.url, st):
            typer.echo(line)


def _poller_status(path: Path) -> dict[str, dict[str, Any]]:
    """Per-feed state saved by a poller on this machine (empty when there is none)."""
    import orjson

    try:
        data = orjson.loads(path.read_bytes())
        feeds = data.get("feeds", {})
        return {str(k): v for k, v in feeds.items() if isinstance(v, dict)}
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return {}


def _iso(ts: Any) -> str:
    """A unix time from the state file as ISO 8601 UTC, or "-"."""
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(float(ts), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return "-"


def _counts(counts: Any) -> str:
    if not isinstance(counts, dict):
        return ""
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: (-int(kv[1]), kv[0])) if n)


def _state_word(st: dict[str, Any]) -> str:
    if not st:
        return "pending"
    if st.get("consecutive_failures"):
        return "failing"
    return "ok" if st.get("last_success") else "pending"


def _feed_lines(feed_id: str, state: str, url: str, st: dict[str, Any]) -> list[str]:
    """A feed's row, then what went wrong with it lately: the last error (kept after a
    recovery), the items polls did not publish and the fields they cut, each with its reason."""
    raw = st.get("dropped")
    dropped: dict[str, int] = raw if isinstance(raw, dict) else {}
    total = sum(n for n in dropped.values() if isinstance(n, int))
    lines = [f"{feed_id[:24]:24} {state:8} {st.get('consecutive_failures', 0)!s:>5} "
             f"{str(st.get('error_class') or '-')[:14]:14} {_iso(st.get('last_success')):20} {total:>7} {url}"]
    if st.get("last_failure"):
        lines.append(f"    last error {_iso(st.get('last_failure_at'))}: {st['last_failure']}")
    if total:
        last = _counts(st.get("last_dropped"))
        lines.append(f"    items not published: {_counts(dropped)}"
                     + (f" (last poll: {last})" if last else "")
                     + f", last at {_iso(st.get('last_drop_at'))}")
    trimmed = _counts(st.get("trimmed"))
    if trimmed:
        lines.append(f"    fields cut or dropped: {trimmed}")
    return lines


@feeds_app.command("add")
def feeds_add(
    url: Annotated[str, typer.Argument(help="http(s):// or file:// URL of the feed")],
    outlet: Annotated[str, typer.Option("--outlet", help="the outlet's name")],
    feed_id: Annotated[str | None, typer.Option("--id", help="feed id (default: from the URL)")] = None,
    full_text: Annotated[bool, typer.Option("--full-text", help="fetch article pages")] = False,
) -> None:
    """Add (or replace) a feed; running pollers pick it up without a restart."""
    from .models import FeedRecord, stable_id, utcnow
    from .poller.feedsfile import feed_url
    from .poller.kafka import publish_feeds

    settings = _settings()
    _setup_logging(settings, client=True)
    try:
        url = feed_url(url, Path.cwd())
    except ValueError as exc:
        raise ConfigError(f"feed {url!r}: {exc}") from None
    fid = feed_id or "f-" + stable_id(url, size=6)
    record = FeedRecord(feed_id=fid, url=url, outlet=outlet, full_text=full_text, updated_at=utcnow())
    settings, broker = _client(settings)
    asyncio.run(publish_feeds(settings, broker.bootstrap, [record]))
    typer.echo(f"added {fid}: {url}")


def _existing_feed(feed_id: str) -> tuple[Settings, str, Any]:
    """Settings, bootstrap and the feed's current record; one error line if there is no such feed."""
    from .poller.kafka import read_feeds

    settings = _settings()
    _setup_logging(settings, client=True)
    settings, broker = _client(settings)
    feeds = asyncio.run(read_feeds(settings, broker.bootstrap))
    if feed_id not in feeds:
        raise ConfigError(f"no feed {feed_id!r} (see `wirewatch feeds list`)")
    return settings, broker.bootstrap, feeds[feed_id]


def _set_paused(feed_id: str, paused: bool) -> None:
    from .models import utcnow
    from .poller.kafka import publish_feeds

    settings, bootstrap, feed = _existing_feed(feed_id)
    record = feed.model_copy(update={"paused": paused, "updated_at": utcnow()})
    asyncio.run(publish_feeds(settings, bootstrap, [record]))
    typer.echo(f"{'paused' if paused else 'resumed'} {feed_id}")


@feeds_app.command("pause")
def feeds_pause(feed_id: str) -> None:
    """Stop polling a feed (its state is kept)."""
    _set_paused(feed_id, True)


@feeds_app.command("resume")
def feeds_resume(feed_id: str) -> None:
    """Poll a paused feed again."""
    _set_paused(feed_id, False)


@feeds_app.command("remove")
def feeds_remove(feed_id: str) -> None:
    """Remove a feed."""
    from .poller.kafka import publish_feeds

    settings, bootstrap, _feed = _existing_feed(feed_id)
    asyncio.run(publish_feeds(settings, bootstrap, [], remove=[feed_id]))
    typer.echo(f"removed {feed_id}")


# ---------------------------------------------------------------------- topics, schemas
@topics_app.command("create")
def topics_create() -> None:
    """Create every wirewatch topic (idempotent) on WIREWATCH_KAFKA_BOOTSTRAP."""
    settings = _settings()
    _setup_logging(settings)
    from .admin import create_topics

    if not settings.kafka_bootstrap:
        raise ConfigError("`wirewatch topics create` needs WIREWATCH_KAFKA_BOOTSTRAP")
    for line in asyncio.run(create_topics(settings)):
        typer.echo(line)


@app.command()
def schemas(
    out: Annotated[Path, typer.Option("--out", help="directory for the JSON Schema files")] = Path("schemas"),
    check: Annotated[bool, typer.Option("--check", help="fail if the files differ from the models")] = False,
) -> None:
    """Write (or --check) one JSON Schema per topic message, generated from the models."""
    from .schemas import check_schemas, write_schemas

    if check:
        stale = check_schemas(out)
        if stale:
            raise ConfigError(f"schemas out of date: {', '.join(stale)} (run `wirewatch schemas`)")
        typer.echo("schemas up to date")
        return
    for path in write_schemas(out):
        typer.echo(str(path))


@app.command("dashboard-png")
def dashboard_png(
    out: Annotated[Path, typer.Option("--out", help="PNG file to write")] = Path("overview.png"),
    prometheus: Annotated[str, typer.Option("--prometheus", help="Prometheus base URL")] = "http://127.0.0.1:9090",
    minutes: Annotated[float, typer.Option("--minutes", help="time range")] = 15.0,
) -> None:
    """Draw the overview dashboard's main panels from Prometheus into a PNG (no Grafana needed)."""
    from .dashboard_png import render_png

    typer.echo(str(render_png(prometheus, out, minutes=minutes)))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point: user mistakes end in one line on stderr, never a traceback."""
    try:
        app()
    except WirewatchError as exc:
        typer.echo(f"wirewatch: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("WIREWATCH_DEBUG"):
            raise
        typer.echo(f"wirewatch: internal error: {type(exc).__name__}: {exc} "
                   "(set WIREWATCH_DEBUG=1 for a traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
