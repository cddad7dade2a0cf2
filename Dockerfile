# labserve container image.
#
#   scripts/build-image [TAG]                  # wheels built on the host, then docker build
#   docker build -t labserve .                 # where the build can reach PyPI
#
# Configuration only through LABSERVE_* variables (and LABSERVE_<NAME>_FILE for Docker
# secrets); models are baked in at /var/lib/labserve (the instance path) unless
# BAKE_MODELS=false, in which case mount them (see docs/deploy.md).

# Any Debian-family image with python3.11 and venv: python:3.11-slim where a registry is
# reachable, or a local one (scripts/build-base-image) where none is.
ARG BASE_IMAGE=python:3.11-slim

# --- build: a virtualenv with labserve and its dependencies, and the trained model ---------
FROM ${BASE_IMAGE} AS build
# scripts/build-image removes this stage's image (compilers of wheels, pip cache) afterwards.
LABEL org.labserve.stage=build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/labserve
WORKDIR /src
COPY pyproject.toml README.md ./
COPY labserve/ labserve/
# Wheels fetched beforehand (scripts/build-image puts them in dist/wheels) let the build run
# without any network, and without trusting the host's CA in the image. The dis[t] glob keeps
# this step valid when there is no dist/ (pyproject.toml always matches); the wheels are then
# fetched here from PyPI.
COPY pyproject.toml dis[t] /build/
RUN set -eu; \
    if ! ls /build/wheels/labserve-*.whl >/dev/null 2>&1; then \
        /opt/labserve/bin/pip wheel --wheel-dir /build/wheels '.[postgres,redis]'; \
    fi; \
    /opt/labserve/bin/pip install --no-index --find-links /build/wheels 'labserve[postgres,redis]'; \
    /opt/labserve/bin/pip uninstall --quiet --yes pip setuptools
# The dependencies' own test suites (scipy, scikit-learn, numpy, onnx: ~90 MB with their
# compiled files) are never imported by labserve: leave them out of the image.
RUN find /opt/labserve/lib -depth -type d \( -name tests -o -path '*/onnx/backend/test' \) \
        -exec rm -rf {} +

# true: train the diagnosis model now, so the image serves with no volume at all.
ARG BAKE_MODELS=true
ENV LABSERVE_INSTANCE_PATH=/var/lib/labserve
RUN set -eu; mkdir -p /var/lib/labserve/journal; \
    if [ "$BAKE_MODELS" = true ]; then /opt/labserve/bin/labserve models init; fi

# --- runtime: the base image, the virtualenv, the models; no compilers, no pip cache ------
FROM ${BASE_IMAGE} AS runtime
# A fixed, unprivileged uid/gid (Kubernetes' runAsNonRoot checks the number).
RUN groupadd --system --gid 10001 labserve \
    && useradd --system --uid 10001 --gid labserve --home-dir /var/lib/labserve \
        --no-create-home --shell /usr/sbin/nologin labserve
COPY --from=build /opt/labserve /opt/labserve
COPY --from=build --chown=10001:10001 /var/lib/labserve /var/lib/labserve
COPY deploy/docker/entrypoint.sh /usr/local/bin/labserve-entrypoint
COPY deploy/docker/healthcheck.py /usr/local/bin/labserve-healthcheck
ENV PATH=/opt/labserve/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LABSERVE_INSTANCE_PATH=/var/lib/labserve \
    LABSERVE_LOG_FORMAT=json \
    LABSERVE_WORKERS=2
USER 10001:10001
WORKDIR /var/lib/labserve
EXPOSE 8000
# labserve (granian) drains in-flight requests for up to 30 s on SIGTERM: give it longer
# (docker run --stop-timeout 40, compose/stack stop_grace_period: 40s).
STOPSIGNAL SIGTERM
# /readyz: see deploy/docker/healthcheck.py for why not /healthz. The start period covers
# imports and model loading; probes inside it that fail do not count. -I -S: the probe needs
# only the standard library, and skipping site-packages halves its start-up time.
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-I", "-S", "/usr/local/bin/labserve-healthcheck"]
ENTRYPOINT ["/usr/local/bin/labserve-entrypoint"]
CMD []
