# The example Better Auth web app (examples/betterauth): sign-in and tasks
# pages and /api/auth/*. Build context: examples/betterauth. Its node_modules
# is used when present (npm ci on the host, as the tests do: no npm inside
# the build); otherwise npm ci runs here, which needs npm in NODE_IMAGE.
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
RUN set -eu; \
    if ! command -v node >/dev/null; then \
        apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs && rm -rf /var/lib/apt/lists/*; \
    fi; \
    groupadd --gid 10001 app; \
    useradd --uid 10001 --gid app --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY . .
RUN [ -d node_modules/better-auth ] || npm ci --omit=dev --no-audit --no-fund --loglevel=error
USER app:app
ENV HOST=0.0.0.0 PORT=3000 NODE_ENV=production
EXPOSE 3000
CMD ["node", "server.mjs"]
