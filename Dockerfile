# One image for every process: api, worker, scheduler and the one-shot migrate (see docker-compose.yml).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    ARTIFACTS_DIR=/data/artifacts

RUN pip install --no-cache-dir uv

# Programs jobs run: Node and npm for the build kind, bubblewrap for its sandbox (without the privileges to make
# namespaces, e.g. under Docker's default seccomp profile, the worker logs that programs run unsandboxed).
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm bubblewrap \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies before code: this layer is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project && rm -rf /root/.cache/uv

COPY service ./service
COPY actors ./actors
COPY db ./db

# The artifacts directory exists in the image, owned by the app user, so a new named volume mounted
# there starts with that owner and is writable without running as root.
RUN useradd --system --create-home --uid 10001 --user-group app \
    && mkdir -p /data/artifacts \
    && chown app:app /data/artifacts
USER app

EXPOSE 8000
CMD ["python", "-m", "service", "api", "--host", "0.0.0.0", "--port", "8000"]
