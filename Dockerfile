# syntax=docker/dockerfile:1
# Build stage: a virtualenv with Minga and its dependencies.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install .

# Runtime stage: the virtualenv, the migrations and nothing else, as a non-root user.
FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MINGA_ENVIRONMENT=production \
    MINGA_ROOT=/srv/minga
RUN groupadd --system minga && useradd --system --gid minga --home-dir /srv/minga minga
WORKDIR /srv/minga
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
RUN mkdir -p /srv/minga/media && chown -R minga:minga /srv/minga
USER minga
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
# Migrations first (idempotent), then the server; exec so that signals reach uvicorn.
CMD ["sh", "-c", "minga db upgrade && exec minga serve --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY:-2}"]
