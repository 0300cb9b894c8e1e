# syntax=docker/dockerfile:1
# Multi-stage: dependencies are installed in a throwaway stage, the runtime stage holds only
# what runs. Node 24 runs the .ts sources directly (type stripping), so there is no build step.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no TypeScript or test tools in the image. --ignore-scripts: the only dependency
# with an install script is the `node` package, whose download of a second Node binary the
# image never runs (CMD's `node` is the image's own).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
# HQ_CONFIG is where the config file is mounted: hq-delegate.config.docker.json is one, with the
# image's absolute /app/... paths (the local example's relative paths would resolve under /app/config).
# The compile cache keeps the stripped and compiled modules between restarts (start-up ~2x faster).
ENV NODE_ENV=production \
    HQ_CONFIG=/app/config/hq-delegate.config.json \
    NODE_COMPILE_CACHE=/app/state/compile-cache
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY commands ./commands
# State (sqlite run store), handoff files and JSONL event logs live outside the image.
RUN mkdir -p /app/state /app/handoffs /app/logs /app/config \
 && chown -R node:node /app/state /app/handoffs /app/logs
VOLUME ["/app/state", "/app/handoffs", "/app/logs"]
USER node
# The ops server (config `ops.port`, default 9464) answers /healthz with 200 only when the
# Discord connection and the run store are fine.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A small young generation keeps RSS near the heap actually used (~150 MB at 500 runs at once).
CMD ["node", "--max-semi-space-size=8", "src/main.mjs"]
