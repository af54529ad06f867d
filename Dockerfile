# syntax=docker/dockerfile:1
#
# vspread's container image: `docker build -t vspread .` at the repository
# root; docs/operations.md has the rest (volumes, ports, compose, Kubernetes).
#
# Stages:
#   web               the admin UI, built by npm (Vite) into /ui
#   build             the vspread binary, with /ui embedded (VSPREAD_UI_DIST);
#                     its DWARF line tables stripped (symbols stay, so
#                     backtraces still name functions): 87 MB -> 24 MB
#   runtime-base      Debian slim, user vspread (uid 10001), the entrypoint,
#                     /data as the volume for [storage] data_dir, the port,
#                     the healthcheck: everything but the binary
#   runtime-prebuilt  runtime-base plus prebuilt/vspread from the build
#                     context: what the test suite (deploy/test/image.sh)
#                     builds, with a binary built on the (Debian 12) host,
#                     as no rust or node image can be pulled there
#   runtime           runtime-base plus the build stage's binary: the image
#
# Build arguments: RUNTIME_IMAGE, the runtime's base (default
# debian:bookworm-slim, the Debian release the build stage links against);
# VSPREAD_REVISION, the commit /metrics names in vspread_build_info (the
# context has no .git: `--build-arg VSPREAD_REVISION=$(git rev-parse
# --short=12 HEAD)`; `unknown` without it).

ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM node:22-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build -- --outDir /ui --emptyOutDir

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates/ crates/
COPY web/ web/
COPY --from=web /ui /ui
ARG VSPREAD_REVISION=unknown
ENV VSPREAD_UI_DIST=/ui \
    VSPREAD_REVISION=${VSPREAD_REVISION}
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p vspread \
    && install -D -m 0755 target/release/vspread /out/vspread \
    && objcopy --strip-debug /out/vspread

# Everything of the runtime image but the binary.
FROM ${RUNTIME_IMAGE} AS runtime-base
RUN groupadd --gid 10001 vspread \
    && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin vspread \
    && mkdir /data \
    && chown 10001:10001 /data \
    && chmod 0750 /data
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/vspread-entrypoint
ENV VSPREAD_DATA=/data \
    VSPREAD_CONFIG=/data/config.toml
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# The admin API, web UI, /healthz, /readyz and /metrics ([server] listen).
EXPOSE 8080
# Healthy = ready: the gateway link answers (see /readyz), not merely a
# live process. The entrypoint runs `vspread healthcheck --url
# $VSPREAD_HEALTHCHECK_URL`, which exits 0 when ready, 1 when not.
ENV VSPREAD_HEALTHCHECK_URL=https://127.0.0.1:8080/readyz
HEALTHCHECK --interval=15s --timeout=5s --start-period=2m --retries=3 \
    CMD ["/usr/local/bin/vspread-entrypoint", "healthcheck"]
# Paper unless the config says mode = "live" and --live is passed:
# `docker run IMAGE --live` appends it to `vspread run`.
ENTRYPOINT ["/usr/local/bin/vspread-entrypoint"]

# The test suite's image: the runtime image with a binary built outside
# (prebuilt/vspread in the build context).
FROM runtime-base AS runtime-prebuilt
COPY --chmod=0755 prebuilt/vspread /usr/local/bin/vspread

# The image (the last stage, so the default target).
FROM runtime-base AS runtime
COPY --from=build --chmod=0755 /out/vspread /usr/local/bin/vspread
