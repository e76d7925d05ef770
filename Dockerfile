# gxcpool container image: docs/docker.md.
#
#   docker build -t gxcpool:0.1.0 .
#   docker run -d -p 3333-3335:3333-3335 -p 5000:5000 -v gxcpool-data:/var/lib/gxcpool \
#       -e BLOCKCHAIN_NODE_URL=http://NODE:18332 gxcpool:0.1.0
#   docker run --rm -p 5000:5000 gxcpool:0.1.0 --devnet      # try it without a node
#
# Two stages.  "build" compiles native/ (cffi) and every dependency into wheels
# and installs those wheels, and nothing else, into a virtualenv.  "runtime"
# is the slim image plus that virtualenv: no compiler, no source tree, no pip.
#
# Base images are pinned by tag (Debian 12 bookworm, Python 3.11, the Python the
# Debian package targets).  Both stages must carry the same Python minor version
# at the same path: the virtualenv links to the interpreter and the wheels are
# built for its ABI.  The full image is the builder because it already has gcc
# and the Python headers.  No digests: this file was written on a machine
# without registry access; pin them with `docker buildx imagetools inspect`.
# The ARGs let tests build from stand-in images of the same shape.
ARG BUILD_IMAGE=python:3.11-bookworm
ARG RUNTIME_IMAGE=python:3.11-slim-bookworm

FROM ${BUILD_IMAGE} AS build
SHELL ["/bin/sh", "-eu", "-c"]
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY setup.py pyproject.toml README.md ./
COPY native/ native/
COPY gxcpoold/ gxcpoold/
COPY twisted/ twisted/
# tests/ops/test_container.py runs this RUN as written, with VENV and WHEELS
# pointing into a temporary directory.  --no-index proves the wheel set is
# complete; pip and setuptools go afterwards (the pool never installs anything).
# The last line checks the installed extension loads (-I: not ./gxcpoold).
ARG VENV=/opt/gxcpool
ARG WHEELS=/tmp/wheels
RUN python3 -m pip wheel --wheel-dir "$WHEELS" '.[postgresql]' \
 && python3 -m venv "$VENV" \
 && "$VENV/bin/pip" install --no-index --find-links "$WHEELS" 'gxcpool[postgresql]' \
 && "$VENV/bin/pip" uninstall --yes pip setuptools \
 && "$VENV/bin/python" -I -c 'import gxcpoold._native, psycopg'

FROM ${RUNTIME_IMAGE} AS runtime
SHELL ["/bin/sh", "-eu", "-c"]
LABEL org.opencontainers.image.title="gxcpool" \
      org.opencontainers.image.description="GXC mining pool: Stratum (sha256d, ethash, gxhash), PPLNS, payouts, dashboard" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT"
# A fixed UID/GID, so a volume or bind mount can be prepared for it on the host
# (chown 10001:10001).  The state directory is created here with that owner:
# a new named volume takes the directory's ownership from the image.
RUN groupadd --system --gid 10001 gxcpool \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/gxcpool --no-create-home \
            --shell /usr/sbin/nologin --comment "gxcpool mining pool" gxcpool \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/gxcpool
COPY --from=build /opt/gxcpool /opt/gxcpool
COPY etc/gxcpool.toml /usr/share/doc/gxcpool/gxcpool.toml.sample
# Twisted caches its plugin list beside the plugins, which the pool's user
# cannot write (the virtualenv is root's): write the cache now, as root.
RUN /opt/gxcpool/bin/python -c 'from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))'
# Configuration: built-in defaults, /etc/gxcpool/gxcpool.toml if mounted, then
# the environment (POOL_ADDRESS, BLOCKCHAIN_NODE_URL, POOL_FEE, GXCPOOL_DATABASE_URL,
# GXCPOOL_<SECTION>_<KEY>, ...: docs/docker.md).  Logs go to stdout.
ENV PATH=/opt/gxcpool/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GXCPOOL_POOL_STATE_DIR=/var/lib/gxcpool
VOLUME ["/var/lib/gxcpool"]
WORKDIR /var/lib/gxcpool
# Stratum: sha256d, ethash, gxhash; then the dashboard and API.
EXPOSE 3333 3334 3335 5000
USER 10001:10001
# The pool stops cleanly on SIGTERM (Stratum lets miners go, shares are
# flushed, block submissions finish): give it time, `docker stop -t 90`.
STOPSIGNAL SIGTERM
# 200 when the pool can take shares, 503 (a failed check) when it cannot.  The
# port follows DASHBOARD_PORT; a web endpoint set otherwise needs its own check.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('DASHBOARD_PORT', '5000'), timeout=8)"]
# Arguments after the image name are twistd gxcpool's own (--devnet, --config ...).
ENTRYPOINT ["twistd", "--nodaemon", "--pidfile=", "gxcpool"]
