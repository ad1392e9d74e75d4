"""Topic administration and the shared Kafka client settings, against a real (Tansu) broker."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from itertools import count
from typing import Any

import certifi
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from wirewatch.admin import (
    create_topics,
    ensure_topics,
    faust_credentials,
    kafka_client_kwargs,
    topic_configs,
)
from wirewatch.broker import EmbeddedBroker
from wirewatch.errors import BrokerUnavailable, ConfigError
from wirewatch.settings import Settings
from wirewatch.topics import Topics

PASSWORD = "s3cret-do-not-print"  # a test value, never a real secret
_prefixes = count()


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    with EmbeddedBroker() as b:
        yield b.bootstrap


@pytest.fixture
def prefix() -> str:
    # Each test gets its own topics on the shared broker.
    return f"t{next(_prefixes)}.ww"


def _settings(**kw: Any) -> Settings:
    return Settings.model_validate(kw)


async def _describe(bootstrap: str, names: list[str]) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
        partitions = {t["topic"]: len(t["partitions"]) for t in described}
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
        configs = {
            r[3]: {e[0]: e[1] for e in r[4]} for resp in responses for r in resp.resources
        }
        return partitions, configs
    finally:
        await admin.close()


async def test_creates_every_topic_with_its_partitions_and_configs(broker: str, prefix: str) -> None:
    settings = _settings(kafka_bootstrap=broker, topic_prefix=prefix, topic_partitions=3)
    topics = Topics(prefix, 3)
    created = await create_topics(settings)
    assert sorted(created) == sorted(s.name for s in topics)

    partitions, configs = await _describe(broker, created)
    for spec in topics:
        assert partitions[spec.name] == spec.partitions
        for key, value in spec.configs().items():
            assert configs[spec.name][key] == value, (spec.name, key)
    # The contract the deployment guide promises: feeds compacted, alerts retained 30 days.
    assert configs[topics.feeds.name]["cleanup.policy"] == "compact"
    assert configs[topics.contradiction.name]["retention.ms"] == str(30 * 24 * 3600 * 1000)
    assert partitions[topics.raw.name] == 1


async def test_second_run_creates_nothing_and_reports_existing(broker: str, prefix: str) -> None:
    settings = _settings(kafka_bootstrap=broker, topic_prefix=prefix)
    first = await create_topics(settings)
    report = await ensure_topics(settings)
    assert report.created == []
    assert sorted(report.existed) == sorted(first)
    assert report.differences == {}


async def test_partial_existing_set_is_completed(broker: str, prefix: str) -> None:
    topics = Topics(prefix, 2)
    only_feeds = Topics(prefix, 2)
    only_feeds.specs = {"feed": topics.feeds}
    settings = _settings(kafka_bootstrap=broker, topic_prefix=prefix, topic_partitions=2)
    assert await create_topics(settings, only_feeds) == [topics.feeds.name]
    report = await ensure_topics(settings)
    assert report.existed == [topics.feeds.name]
    assert sorted(report.created) == sorted(s.name for s in topics if s.name != topics.feeds.name)


async def test_existing_topic_with_other_partitions_is_reported_not_altered(
    broker: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    await create_topics(_settings(kafka_bootstrap=broker, topic_prefix=prefix, topic_partitions=2))
    caplog.set_level(logging.WARNING, logger="wirewatch.admin")
    report = await ensure_topics(_settings(kafka_bootstrap=broker, topic_prefix=prefix, topic_partitions=6))
    claims = f"{prefix}.claims"
    assert report.differences[claims] == ["2 partitions, spec says 6"]
    assert f"{prefix}.stories.raw" not in report.differences  # one partition either way
    assert any(claims in r.getMessage() for r in caplog.records)
    partitions, _ = await _describe(broker, [claims])
    assert partitions[claims] == 2


async def test_replication_beyond_the_cluster_is_a_config_error(broker: str, prefix: str) -> None:
    settings = _settings(kafka_bootstrap=broker, topic_prefix=prefix, kafka_replication_factor=3)
    with pytest.raises(ConfigError, match=r"REPLICATION_FACTOR=3 .* 1 broker"):
        await create_topics(settings)


async def test_refused_address_is_broker_unavailable_naming_it() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(BrokerUnavailable) as info:
        await create_topics(_settings(kafka_bootstrap=dead, broker_timeout_seconds=5))
    assert dead in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.timeout(30)  # hang guard: without our deadline aiokafka would wait 40 s per request
async def test_silent_broker_gives_up_after_the_configured_timeout() -> None:
    # Accepts TCP connections and never answers: a hung broker or a black-holing proxy.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(BrokerUnavailable, match=rf"{address} did not answer .* within 0.5s"):
            await create_topics(_settings(kafka_bootstrap=address, broker_timeout_seconds=0.5))


async def test_password_never_reaches_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = _settings(
        kafka_bootstrap="127.0.0.1:1", kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="ww", kafka_sasl_password=PASSWORD,
        broker_timeout_seconds=2,
    )
    kwargs = kafka_client_kwargs(settings)
    assert kwargs["sasl_plain_password"] == PASSWORD  # the client does get it
    assert PASSWORD not in repr(kwargs) and PASSWORD not in str(kwargs)
    with pytest.raises(BrokerUnavailable) as info:
        await create_topics(settings)
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in caplog.text


def test_plaintext_kwargs() -> None:
    kwargs = kafka_client_kwargs(_settings(kafka_bootstrap="k1:9092,k2:9092", app_id="ww"))
    assert dict(kwargs) == {
        "bootstrap_servers": "k1:9092,k2:9092", "security_protocol": "PLAINTEXT", "client_id": "ww",
    }


def test_bootstrap_override_for_the_embedded_broker() -> None:
    kwargs = kafka_client_kwargs(_settings(), bootstrap="127.0.0.1:1234")
    assert kwargs["bootstrap_servers"] == "127.0.0.1:1234"
    with pytest.raises(ConfigError, match="WIREWATCH_KAFKA_BOOTSTRAP"):
        kafka_client_kwargs(_settings())


def test_sasl_ssl_kwargs_verify_the_broker_certificate() -> None:
    settings = _settings(
        kafka_bootstrap="k:9093", kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="ww", kafka_sasl_password=PASSWORD, kafka_ssl_cafile=certifi.where(),
    )
    kwargs = kafka_client_kwargs(settings)
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-256"
    assert kwargs["sasl_plain_username"] == "ww"
    assert kwargs["ssl_context"].check_hostname is True


def test_incomplete_sasl_names_the_missing_variables() -> None:
    settings = _settings(
        kafka_bootstrap="k:9093", kafka_security_protocol="SASL_SSL", kafka_sasl_username="ww"
    )
    with pytest.raises(ConfigError) as info:
        kafka_client_kwargs(settings)
    assert "WIREWATCH_KAFKA_SASL_MECHANISM" in str(info.value)
    assert "WIREWATCH_KAFKA_SASL_PASSWORD" in str(info.value)
    assert "WIREWATCH_KAFKA_SASL_USERNAME" not in str(info.value)


def test_credentials_with_a_plaintext_protocol_are_refused() -> None:
    settings = _settings(kafka_bootstrap="k:9092", kafka_sasl_username="ww", kafka_sasl_password=PASSWORD)
    with pytest.raises(ConfigError, match="SASL_SSL"):
        kafka_client_kwargs(settings)


def test_missing_ca_file_is_a_config_error() -> None:
    settings = _settings(kafka_bootstrap="k:9093", kafka_security_protocol="SSL",
                         kafka_ssl_cafile="/nonexistent/ca.pem")
    with pytest.raises(ConfigError, match=r"/nonexistent/ca\.pem"):
        kafka_client_kwargs(settings)


def test_faust_credentials_match_the_client_settings() -> None:
    assert faust_credentials(_settings(kafka_bootstrap="k:9092")) is None
    creds = faust_credentials(_settings(
        kafka_bootstrap="k:9093", kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="ww", kafka_sasl_password=PASSWORD, kafka_ssl_cafile=certifi.where(),
    ))
    assert creds is not None
    assert str(creds.protocol.value) == "SASL_SSL"
    assert str(creds.mechanism.value) == "PLAIN"  # type: ignore[attr-defined]
    assert PASSWORD not in repr(creds)


def test_three_replicas_need_two_in_sync_for_an_acknowledged_write() -> None:
    topics = Topics("ww", 3)
    assert "min.insync.replicas" not in topic_configs(topics.claims, 1)
    assert topic_configs(topics.claims, 3)["min.insync.replicas"] == "2"
    # The spec's own configs stay as they are.
    assert topic_configs(topics.feeds, 3)["cleanup.policy"] == "compact"
