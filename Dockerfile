# One image for every process: docker run IMAGE gateway|user|customer|product|transaction|payment|sandbox|migrate
# (tools/container.py). Builds on python:3.11-slim or on a plain Debian bookworm with python3 and
# python3-venv (BASE_IMAGE): everything is installed into a virtualenv, not the system Python.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0

WORKDIR /app

# Runtime dependencies only: requirements.txt up to its "# Tests." line.
COPY requirements.txt ./
RUN sed '/^# Tests/,$d' requirements.txt > /tmp/runtime-requirements.txt \
    && python3 -m venv /opt/venv \
    && pip install --requirement /tmp/runtime-requirements.txt \
    && rm /tmp/runtime-requirements.txt

COPY db_init.sql ./
COPY shop_common ./shop_common
COPY api_gateway ./api_gateway
COPY user_service ./user_service
COPY customer_service ./customer_service
COPY product_service ./product_service
COPY transaction_service ./transaction_service
COPY payment_service ./payment_service
COPY payment_sandbox ./payment_sandbox
COPY tools ./tools
COPY docs/openapi.yaml ./docs/openapi.yaml
# Compiled once here: the root filesystem is read-only at run time.
RUN python -m compileall -q /app \
    && useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin shop

USER 10001
EXPOSE 3000 3001 3002 3003 3004 3005 3006
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "tools.container", "healthcheck"]
ENTRYPOINT ["python", "-m", "tools.container"]
CMD ["gateway"]
