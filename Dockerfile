# syntax=docker/dockerfile:1
#
# NexusCore: one image for every process of the Procfile.
#
#   docker build -t nexuscore .
#   docker run --env-file prod.env -p 8000:8000 nexuscore                  # web (gunicorn)
#   docker run --env-file prod.env nexuscore python manage.py qcluster     # worker
#   docker run --env-file prod.env nexuscore \
#     sh -c "python manage.py migrate_tenants && python manage.py ensure_public_site"
#
# prod.env holds at least SECRET_KEY, DATABASE_URL and NEXUSCORE_BASE_DOMAIN (see README.md).

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---------------------------------------------------------------------------------------------
# Builder: a virtual environment with the pinned requirements.
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Every requirement, psycopg[binary] included, installs from a manylinux wheel for
# CPython 3.12, so nothing is compiled. If a future requirement needs a compiler, install
# build-essential here; the final stage never gets it.
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt

# ---------------------------------------------------------------------------------------------
# Final stage: the virtual environment, the code and the collected static files.
FROM ${PYTHON_IMAGE}

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NEXUSCORE_ENV=production \
    NEXUSCORE_DATA_DIR=/data \
    PORT=8000 \
    WEB_CONCURRENCY=2

# A user without a login shell runs the site. It may write only to /data (uploaded files under
# /data/media/<schema>/); mount a volume there if uploads must outlive the container.
RUN groupadd --system nexuscore \
    && useradd --system --gid nexuscore --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin nexuscore \
    && mkdir /data \
    && chown nexuscore:nexuscore /data

WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY . .

# Production settings need SECRET_KEY and DATABASE_URL to import. These dummy values exist for
# this one command: collectstatic never connects. NEXUSCORE_ENV=production (above) selects WhiteNoise's
# compressed manifest storage, whose manifest the running site needs.
RUN SECRET_KEY=build-only DATABASE_URL=postgresql://build@localhost/build \
    python manage.py collectstatic --noinput --verbosity 0

USER nexuscore

EXPOSE 8000

# No HEALTHCHECK: /health/ answers 503 whenever the django-q2 worker is silent, and the worker
# runs in another container. A check here would mark a sound web server unhealthy (and get it
# restarted) because of the worker. Watch /health/ from outside instead, as a verdict on the
# whole installation; for the web container alone a TCP check on $PORT is enough.

CMD ["sh", "-c", "exec gunicorn nexuscore.wsgi --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY} --access-logfile -"]
