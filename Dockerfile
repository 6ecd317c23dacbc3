# One image for every process of the call center: web (Daphne), AudioSocket server, Celery.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Collect the admin's static files into the image; the secret here is a throw-away for the build.
RUN DJANGO_ENV=production SECRET_KEY=build-only ALLOWED_HOSTS=localhost \
    STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput \
 && useradd --system --uid 1000 --home-dir /app callcenter \
 && mkdir -p /var/lib/callcenter/prompts /var/lib/callcenter/record-spool \
 && chown -R callcenter /app /var/lib/callcenter

USER callcenter
# The image runs the production profile unless told otherwise: DEBUG off, and no start without
# SECRET_KEY and ALLOWED_HOSTS (a bare `docker run` stops and names them).
ENV DJANGO_ENV=production \
    STATIC_ROOT=/app/staticfiles \
    TTS_CACHE_DIR=/var/lib/callcenter/prompts

EXPOSE 8000 9092
# -v 0: Daphne's own access log prints full URLs (admin searches); callcenter.access logs
# each request without query values instead.
CMD ["daphne", "-v", "0", "--bind", "0.0.0.0", "--port", "8000", "callcenter.asgi:application"]
