"""Kafka connection settings shared by every client, and topic administration.

``kafka_client_kwargs`` is the one place that turns :class:`Settings` into the
keyword arguments of an aiokafka client (admin, producer, consumer), so TLS and
SASL are configured identically everywhere; ``faust_credentials`` does the same
for the faust app.  ``create_topics`` creates the topics of
:class:`~wirewatch.topics.Topics` (partitions, replication, compaction,
retention) on any cluster and is safe to run again: it is what
`wirewatch topics create` and the compose ``topics`` init service run;
``delete_topics`` is what the embedded broker's renewal deletes old topics with.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from aiokafka.helpers import create_ssl_context

from .errors import BrokerError, BrokerUnavailable, ConfigError
from .settings import Settings
from .topics import Topics, TopicSpec

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

log = logging.getLogger(__name__)

T = TypeVar("T")

# Kafka error codes we treat as "the topic is already there" (not a failure).
_TOPIC_ALREADY_EXISTS = 36
_REDACTED = "**********"


class KafkaClientKwargs(dict[str, Any]):
    """The kwargs of an aiokafka client; its repr hides the SASL password.

    The dict is handed around and may end up in a debug log or a traceback's
    locals, so printing it must never reveal the secret.
    """

    def __repr__(self) -> str:
        shown = {k: (_REDACTED if k == "sasl_plain_password" and v else v) for k, v in self.items()}
        return f"{type(self).__name__}({shown!r})"

    __str__ = __repr__


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    cafile = settings.kafka_ssl_cafile
    if cafile is not None and not cafile.is_file():
        raise ConfigError(f"WIREWATCH_KAFKA_SSL_CAFILE {cafile} is not a readable file")
    try:
        # Verifies the broker's certificate and host name; without a CA file the
        # system trust store is used (managed clusters with public certificates).
        return create_ssl_context(cafile=str(cafile) if cafile else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load CA file {cafile}: {exc}") from None


def _sasl(settings: Settings) -> tuple[str, str, str]:
    missing = [
        name
        for name, value in (
            ("WIREWATCH_KAFKA_SASL_MECHANISM", settings.kafka_sasl_mechanism),
            ("WIREWATCH_KAFKA_SASL_USERNAME", settings.kafka_sasl_username),
            ("WIREWATCH_KAFKA_SASL_PASSWORD", settings.kafka_sasl_password),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"WIREWATCH_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} needs "
            + ", ".join(missing)
        )
    assert settings.kafka_sasl_mechanism and settings.kafka_sasl_username and settings.kafka_sasl_password
    return (
        settings.kafka_sasl_mechanism,
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
    )


def bootstrap_servers(settings: Settings, bootstrap: str | None = None) -> str:
    """``bootstrap`` if given (e.g. an embedded broker's), else the configured one."""
    servers = bootstrap or settings.kafka_bootstrap
    if not servers:
        raise ConfigError(
            "no Kafka cluster configured: set WIREWATCH_KAFKA_BOOTSTRAP=host:port[,host:port]"
        )
    return servers


def kafka_client_kwargs(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """Connection kwargs for any aiokafka client: bootstrap servers, TLS and SASL.

    ``bootstrap`` overrides ``settings.kafka_bootstrap`` (the embedded broker's
    address is only known once it runs).  Incomplete SASL settings raise
    :class:`ConfigError` naming the missing variables; the password goes into
    the returned dict only, whose repr hides it.
    """
    protocol = settings.kafka_security_protocol
    kwargs = KafkaClientKwargs(
        bootstrap_servers=bootstrap_servers(settings, bootstrap),
        security_protocol=protocol,
        client_id=settings.app_id,
    )
    if protocol in ("SSL", "SASL_SSL"):
        kwargs["ssl_context"] = _ssl_context(settings)
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        mechanism, username, password = _sasl(settings)
        kwargs.update(sasl_mechanism=mechanism, sasl_plain_username=username, sasl_plain_password=password)
    elif settings.kafka_sasl_username or settings.kafka_sasl_password:
        # Credentials given but a protocol that never sends them: almost always a
        # forgotten WIREWATCH_KAFKA_SECURITY_PROTOCOL, which would fail later as
        # an opaque disconnect.
        raise ConfigError(
            f"SASL credentials are set but WIREWATCH_KAFKA_SECURITY_PROTOCOL={protocol}; "
            "use SASL_SSL (or SASL_PLAINTEXT)"
        )
    return kwargs


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """The same TLS/SASL settings as ``broker_credentials`` for the faust app."""
    import faust

    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = _ssl_context(settings) if protocol in ("SSL", "SASL_SSL") else None
    if protocol == "SSL":
        assert context is not None
        return faust.SSLCredentials(context)
    mechanism, username, password = _sasl(settings)
    return faust.SASLCredentials(
        username=username, password=password, ssl_context=context, mechanism=mechanism
    )


# -- topics ---------------------------------------------------------------------


@dataclass
class TopicReport:
    """What ``ensure_topics`` found: created, already there, and existing topics that differ."""

    created: list[str] = field(default_factory=list)
    existed: list[str] = field(default_factory=list)
    # name -> one line per difference between the existing topic and its spec
    differences: dict[str, list[str]] = field(default_factory=dict)


def topic_configs(spec: TopicSpec, replication: int) -> dict[str, str]:
    """The spec's configs, plus ``min.insync.replicas=2`` once there are 3+ replicas.

    With acks=all a write then survives the loss of any one broker; the cluster's
    default is often 1, which would acknowledge writes held by the leader alone.
    """
    configs = spec.configs()
    if replication >= 3:
        configs.setdefault("min.insync.replicas", "2")
    return configs


def _new_topic(spec: TopicSpec, replication: int) -> NewTopic:
    return NewTopic(spec.name, spec.partitions, replication, topic_configs=topic_configs(spec, replication))


async def broker_call(aw: Awaitable[T], seconds: float, address: str, what: str) -> T:
    """``aw`` within ``seconds``; any way a broker fails to answer is one BrokerUnavailable /
    BrokerError naming ``address`` and ``what`` was asked (every client command uses it)."""
    try:
        return await asyncio.wait_for(aw, seconds)
    except TimeoutError:
        raise BrokerUnavailable(
            f"Kafka at {address} did not answer {what} within {seconds:g}s"
        ) from None
    except KafkaConnectionError:
        raise BrokerUnavailable(f"cannot connect to Kafka at {address}") from None
    except KafkaTimeoutError:
        raise BrokerUnavailable(f"Kafka at {address} did not answer {what} within {seconds:g}s") from None
    except KafkaError as exc:
        raise BrokerError(f"Kafka at {address} refused {what}: {exc!r}") from None
    except OSError as exc:
        raise BrokerUnavailable(f"cannot connect to Kafka at {address}: {exc.strerror or exc}") from None


async def ensure_topics(
    settings: Settings, topics: Topics | None = None, *, bootstrap: str | None = None
) -> TopicReport:
    """Create every missing topic; report the ones that exist and how they differ.

    Existing topics are never altered: changing partitions remaps keys and
    changing the cleanup policy changes what a topic keeps, both deliberate
    operations, so differences are reported (and logged as warnings) instead.
    """
    topics = topics or Topics(settings.topic_prefix, settings.topic_partitions)
    specs = list(topics)
    kwargs = kafka_client_kwargs(settings, bootstrap)
    address = kwargs["bootstrap_servers"]
    timeout = settings.broker_timeout_seconds
    replication = settings.kafka_replication_factor
    # aiokafka's own request timeout (40 s) would outlast ours; keep them aligned.
    admin = AIOKafkaAdminClient(**kwargs, request_timeout_ms=max(int(timeout * 1000), 1000))
    report = TopicReport()
    try:
        await broker_call(admin.start(), timeout, address, "the connection")
        cluster = await broker_call(admin.describe_cluster(), timeout, address, "a metadata request")
        brokers = len(cluster.get("brokers") or [])
        if brokers and replication > brokers:
            raise ConfigError(
                f"WIREWATCH_KAFKA_REPLICATION_FACTOR={replication} but the cluster at {address} "
                f"has {brokers} broker(s)"
            )
        # Create first and look second: a metadata request for a missing topic
        # auto-creates it on brokers with auto-create on, with default partitions.
        response = await broker_call(
            admin.create_topics([_new_topic(s, replication) for s in specs], timeout_ms=int(timeout * 1000)),
            timeout, address, "CreateTopics",
        )
        failures: list[str] = []
        for name, code, message, *_ in response.topic_errors:
            if code == 0:
                report.created.append(name)
            elif code == _TOPIC_ALREADY_EXISTS:
                report.existed.append(name)
            else:
                failures.append(f"{name}: {message or f'error code {code}'}")
        if failures:
            raise BrokerError(f"could not create topics on {address}: " + "; ".join(failures))
        if report.existed:
            report.differences = await _differences(
                admin, [s for s in specs if s.name in report.existed], replication, address, timeout
            )
    finally:
        await admin.close()
    for name in report.created:
        log.info("created topic %s", name)
    for name in report.existed:
        log.info("topic %s already exists", name)
    for name, diffs in report.differences.items():
        for diff in diffs:
            log.warning("existing topic %s differs from its spec: %s", name, diff)
    return report


async def _differences(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication: int, address: str, timeout: float
) -> dict[str, list[str]]:
    by_name = {s.name: s for s in specs}
    described = await broker_call(admin.describe_topics(list(by_name)), timeout, address, "a metadata request")
    diffs: dict[str, list[str]] = {}
    for topic in described:
        spec = by_name.get(topic["topic"])
        if spec is None:
            continue
        parts = topic.get("partitions") or []
        if len(parts) != spec.partitions:
            diffs.setdefault(spec.name, []).append(f"{len(parts)} partitions, spec says {spec.partitions}")
        copies = min((len(p.get("replicas") or []) for p in parts), default=replication)
        if copies < replication:
            diffs.setdefault(spec.name, []).append(f"replication factor {copies}, settings say {replication}")
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in by_name]
    responses = await broker_call(admin.describe_configs(resources), timeout, address, "DescribeConfigs")
    for response in responses:
        for error_code, _msg, _type, name, entries, *_ in response.resources:
            spec = by_name.get(name)
            if spec is None or error_code:
                continue
            current = {entry[0]: entry[1] for entry in entries}
            for key, want in topic_configs(spec, replication).items():
                if key in current and current[key] != want:
                    diffs.setdefault(name, []).append(f"{key}={current[key]}, spec says {want}")
    return diffs


async def create_topics(
    settings: Settings, topics: Topics | None = None, *, bootstrap: str | None = None
) -> list[str]:
    """Create every wirewatch topic that is missing; return the names created.

    Idempotent: topics that already exist are left alone (logged, and reported
    with their differences by :func:`ensure_topics`).  A broker that does not
    answer within ``settings.broker_timeout_seconds`` raises
    :class:`BrokerUnavailable` naming its address.
    """
    report = await ensure_topics(settings, topics, bootstrap=bootstrap)
    return report.created


async def delete_topics(settings: Settings, names: list[str], *, bootstrap: str | None = None) -> list[str]:
    """Delete the topics of ``names`` that exist; return the names deleted (the embedded
    broker's renewal: deleting a topic is the one way it frees memory)."""
    kwargs = kafka_client_kwargs(settings, bootstrap)
    address = kwargs["bootstrap_servers"]
    timeout = settings.broker_timeout_seconds
    admin = AIOKafkaAdminClient(**kwargs, request_timeout_ms=max(int(timeout * 1000), 1000))
    try:
        await broker_call(admin.start(), timeout, address, "the connection")
        existing = set(await broker_call(admin.list_topics(), timeout, address, "a metadata request"))
        wanted = [n for n in names if n in existing]
        if not wanted:
            return []
        response = await broker_call(admin.delete_topics(wanted, timeout_ms=int(timeout * 1000)), timeout, address,
                                     "DeleteTopics")
    finally:
        await admin.close()
    failures = [f"{name}: error code {code}" for name, code, *_ in response.topic_error_codes if code]
    if failures:
        raise BrokerError(f"could not delete topics on {address}: " + "; ".join(failures))
    return wanted
