# The example FastAPI tasks API (examples/backend/app.py, unchanged) on
# Debian 12's python3-fastapi and uvicorn. Build context: examples/backend.
ARG PYTHON_IMAGE=debian:bookworm-slim
FROM ${PYTHON_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
RUN set -eu; \
    pkgs="python3 python3-fastapi python3-uvicorn python3-jwt"; \
    missing=""; \
    for p in $pkgs; do \
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
        apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; \
    fi; \
    groupadd --gid 10001 app; \
    useradd --uid 10001 --gid app --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY app.py .
USER app:app
EXPOSE 8000
CMD ["python3", "-m", "uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
