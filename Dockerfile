# feedbridge: the long-running service (`feedbridge serve`) in a small image.
#
#   docker build -t feedbridge .          (or: docker compose up)
#   docker run -p 8080:8080 -v feedbridge-data:/data feedbridge
#
# BASE is a build argument so the image also builds on a locally made Debian base
# (scripts/container-test.sh): there Python is 3.11 and the system Python has no pip,
# hence a virtual environment in both cases.
ARG BASE=python:3.12-slim

# ---- build: install feedbridge and its dependencies into a venv -----------------------------
FROM ${BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python3 -m venv /opt/feedbridge
COPY pyproject.toml README.md LICENSE ./
COPY feedbridge/ feedbridge/
RUN /opt/feedbridge/bin/pip install --no-compile . \
 && /opt/feedbridge/bin/python -m compileall -q /opt/feedbridge/lib

# ---- runtime: the venv, the shipped config, a non-root user ---------------------------------
FROM ${BASE}
LABEL org.opencontainers.image.title="feedbridge" \
      org.opencontainers.image.description="Validated Atom/RSS/JSON feeds for websites without feeds" \
      org.opencontainers.image.licenses="MIT"

# Settings, all documented in docs/service.md. FEEDBRIDGE_OUTPUT_DIR and _STATE_DB win over
# the config file's settings, so all state lives in /data whatever the config says.
ENV PATH=/opt/feedbridge/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FEEDBRIDGE_CONFIG=/config/feedbridge.yaml \
    FEEDBRIDGE_OUTPUT_DIR=/data/feeds \
    FEEDBRIDGE_STATE_DB=/data/state/feedbridge.sqlite \
    FEEDBRIDGE_HOST=0.0.0.0 \
    FEEDBRIDGE_PORT=8080 \
    FEEDBRIDGE_LOG_LEVEL=INFO

RUN groupadd --system --gid 10001 feedbridge \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin feedbridge \
 && mkdir -p /config /data/feeds /data/state \
 && chown -R feedbridge:feedbridge /data

COPY --from=build /opt/feedbridge /opt/feedbridge
COPY config/ /config/

USER 10001:10001
WORKDIR /data
VOLUME ["/config", "/data"]
EXPOSE 8080

# 200 while every source refreshed within its bound; urllib raises (exit 1) on 503.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('FEEDBRIDGE_PORT', '8080'), timeout=4)"]

# `docker kill -s HUP <container>` reloads the config; SIGTERM stops cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["feedbridge"]
CMD ["serve", "--host", "0.0.0.0"]
