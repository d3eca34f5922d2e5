# Contower container image.
#
#   docker build --build-arg BUILD_COMMIT="$(git rev-parse HEAD)" -t contower .
#   docker run -d --name contower -v contower-data:/data \
#     -p 9000:9000/tcp -p 9000:9000/udp -p 127.0.0.1:8008:8008 contower
#
# Options are CONTOWER_* env variables (-e) or flags after the image name (`contower start --help`).
# test/e2e/docker-smoke.test.ts checks this file's invariants, and scripts/docker-smoke.sh reproduces the
# runtime stage without Docker (it reads the runtime stage's COPY, ENV, WORKDIR, HEALTHCHECK, ENTRYPOINT and
# CMD lines, so keep each ENV on its own line as a single NAME=value).

# ---- build: compile and bundle TypeScript with the dev dependencies ----
FROM node:22-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until the lockfile changes. --ignore-scripts because
# the `prepare` script would run the build before src/ is copied; the build runs explicitly below.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
# tsc into dist/, then the minified bundle bin/contower.js runs into dist/bundle/ (scripts/build.ts).
RUN npm run build

# ---- runtime: production dependencies and the compiled output only ----
FROM node:22-bookworm-slim AS runtime
WORKDIR /app
# --omit=dev keeps tsc, vitest and the linters out of the image; --ignore-scripts skips `prepare` (no tsc here, and
# dist/ comes from the build stage). No dependency has an install script, so nothing else is skipped.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config

# The commit is recorded in a file that src/version.ts reads (there is no .git in the image). Declared
# after the dependency layers so a new commit does not invalidate them.
ARG BUILD_COMMIT=""
RUN if [ -n "$BUILD_COMMIT" ]; then printf '%s\n' "$BUILD_COMMIT" > BUILD_COMMIT; fi
LABEL org.opencontainers.image.title="contower" \
      org.opencontainers.image.revision="${BUILD_COMMIT}" \
      org.opencontainers.image.licenses="MIT"

# The identity key and enr.json (our ENR's sequence number) are the only state. /data is created owned by the runtime user (mode 0700, like the data
# dir the daemon would create) so that a fresh named volume inherits that ownership.
RUN mkdir -p /data && chown 1000:1000 /data && chmod 0700 /data
VOLUME /data

ENV NODE_ENV=production
ENV CONTOWER_DATA_DIR=/data
ENV CONTOWER_LISTEN_ADDRESS=0.0.0.0
ENV CONTOWER_PORT=9000
# The metrics server defaults to loopback, which a published port cannot reach inside a container. /metrics
# and /health carry no secrets, but publish 8008 on a private interface only (as in the example above).
ENV CONTOWER_METRICS_ADDRESS=0.0.0.0
ENV CONTOWER_METRICS_PORT=8008
# Logs go to a collector, not a terminal: JSON even under `docker run -t`.
ENV CONTOWER_LOG_FORMAT=json

# libp2p TCP, discv5 UDP (same port by default), metrics and health HTTP.
EXPOSE 9000/tcp 9000/udp 8008/tcp

# The base image's `node` user. Numeric, so that Kubernetes' runAsNonRoot can verify it is not root. The app
# files stay root-owned: the daemon can read its code but not change it.
USER 1000:1000

# Slim images have no curl; node has fetch. The port follows CONTOWER_METRICS_PORT; with --no-metrics or a
# non-loopback CONTOWER_METRICS_ADDRESS, run with --no-healthcheck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CONTOWER_METRICS_PORT || 8008) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# No init process (tini): node runs as PID 1 and our CLI installs SIGTERM/SIGINT handlers (PID 1 gets no
# default ones), stops within 5 s (inside Docker's 10 s grace period) and exits 0. It spawns no children,
# so there are no zombies to reap.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/bin/contower.js"]
CMD ["start"]
