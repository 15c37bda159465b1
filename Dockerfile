# One image for every Waymark process; docker-compose.yml picks the command per service.

# The front end is built with Node and only its output (frontend/dist) is kept.
FROM node:22-bookworm-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY . .
RUN pip install .
COPY --from=frontend /app/frontend/dist frontend/dist
# .data holds beat's schedule and the CSV imports volume; everything runs unprivileged.
RUN useradd --create-home waymark && mkdir -p .data/staticfiles && chown -R waymark .data
USER waymark
EXPOSE 8000
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
