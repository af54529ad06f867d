# syntax=docker/dockerfile:1
#
# vspread's container image: `docker build -t vspread .` at the repository
# root; docs/operations.md has the rest (volumes, ports, compose, Kubernetes).
#
# Stages:
#   web      the admin UI, built by npm (Vite) into /ui
#   build    the vspread binary, with /ui embedded (VSPREAD_UI_DIST); its
#            DWARF line tables stripped (symbols stay, so backtraces still
#            name functions): 87 MB -> 24 MB
#   runtime  Debian slim, user vspread (uid 10001), the binary and the
#            entrypoint; /data is the volume for [storage] data_dir
#
# Build arguments:
#   RUNTIME_IMAGE  the runtime stage's base (default debian:bookworm-slim,
#                  the Debian release the build stage links against)
#   BINARY_STAGE   where the runtime stage takes /out/vspread from:
#                  "build" (default) or "prebuilt", which copies
#                  prebuilt/vspread from the build context instead; the
#                  test suite (deploy/test/image.sh) uses that with a
#                  binary built on the (Debian 12) host, with
#                  `--target runtime`, so the runtime stage it tests is
#                  this one, instruction for instruction.

ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG BINARY_STAGE=build

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
ENV VSPREAD_UI_DIST=/ui
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p vspread \
    && install -D -m 0755 target/release/vspread /out/vspread \
    && objcopy --strip-debug /out/vspread

FROM scratch AS prebuilt
COPY prebuilt/vspread /out/vspread

# The binary's source, chosen by BINARY_STAGE.
FROM ${BINARY_STAGE} AS binary

FROM ${RUNTIME_IMAGE} AS runtime
RUN groupadd --gid 10001 vspread \
    && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin vspread \
    && mkdir /data \
    && chown 10001:10001 /data \
    && chmod 0750 /data
COPY --from=binary --chmod=0755 /out/vspread /usr/local/bin/vspread
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
ENV VSPREAD_HEALTHCHECK_URL=http://127.0.0.1:8080/readyz
HEALTHCHECK --interval=15s --timeout=5s --start-period=2m --retries=3 \
    CMD ["/usr/local/bin/vspread-entrypoint", "healthcheck"]
# Paper unless the config says mode = "live" and --live is passed:
# `docker run IMAGE --live` appends it to `vspread run`.
ENTRYPOINT ["/usr/local/bin/vspread-entrypoint"]
