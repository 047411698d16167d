# One image for every fetalbench service (web, scoring worker, GPU inference worker, beat).
# Build the GPU worker's image with `--build-arg WITH_MODELS=1` (docker-compose does) to add
# torch and the reference models; the web and scoring images stay small without them.
FROM python:3.12-slim

ARG WITH_MODELS=0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FETALBENCH_VAR=/srv/var \
    NUMBA_CACHE_DIR=/srv/var/numba-cache \
    DJANGO_SETTINGS_MODULE=config.settings

RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-models.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && if [ "$WITH_MODELS" = "1" ]; then pip install --no-cache-dir -r requirements-models.txt; fi

COPY . .
RUN useradd --create-home --uid 1000 fetalbench \
    && mkdir -p /srv/var \
    && chown -R fetalbench /srv/var
USER fetalbench

EXPOSE 8000
# Overridden per service in docker-compose.yml; the default serves the site.
CMD ["gunicorn", "--chdir", "platform", "--bind", "0.0.0.0:8000", "--workers", "3", "config.wsgi"]
