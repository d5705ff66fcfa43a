# Touchstone: one image for web (gunicorn), Celery worker and Celery beat.

# Front-end libraries (htmx, chart.js) from npm, pinned by package-lock.json; collectstatic
# copies them from node_modules into the static files, so the final image needs no Node.
FROM node:22-slim AS frontend
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --system --uid 1000 --home-dir /app --shell /usr/sbin/nologin touchstone

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
COPY --from=frontend /app/node_modules ./node_modules

# Static files are baked into the image (var/static, served by WhiteNoise). Runtime data -- the
# signing key and evidence uploads -- lives on the shared volume mounted at /data instead, so
# mounting it never hides the collected files.
RUN SECRET_KEY=collectstatic-only DEBUG=false python manage.py collectstatic --noinput \
    && mkdir -p /data \
    && chown -R touchstone:touchstone /app/var /data

USER touchstone
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "-b", "0.0.0.0:8000", "-w", "3"]
