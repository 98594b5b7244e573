# syntax=docker/dockerfile:1.7
#
# One multi-stage build for every Storefront binary. Pick one with a target:
#
#   docker build --target router    -t storefront/router .
#   docker build --target users     -t storefront/users .
#   docker build --target orders    -t storefront/orders .
#   docker build --target payments  -t storefront/payments .
#   docker build --target inventory -t storefront/inventory .
#
# The build stage compiles all five binaries once (`cargo build --profile dist
# --locked`: the release profile with fat LTO and one codegen unit, see
# Cargo.toml), with BuildKit cache mounts for the cargo registry and the
# target directory, so rebuilding another target or after a source change
# reuses the compiled dependencies. Each runtime image is distroless (glibc, CA
# certificates, no shell), runs as the non-root user 65532, and holds only its
# binary. Expected size: about 40 MB per image (distroless cc ~25 MB + one
# binary of ~15 MB).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# Everything the workspace needs (see .dockerignore for what stays out).
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --profile dist --locked --workspace \
        --bin router --bin users --bin orders --bin payments --bin inventory \
 && mkdir -p /out \
 && cp target/dist/router target/dist/users target/dist/orders \
       target/dist/payments target/dist/inventory /out/

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
LABEL org.opencontainers.image.source="https://github.com/storefront/storefront" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.vendor="Storefront"
WORKDIR /data
ENV DATA_DIR=/data \
    BIND_ADDRESS=0.0.0.0 \
    LOG_FORMAT=json \
    RUST_LOG=info
USER 65532:65532

FROM runtime AS router
LABEL org.opencontainers.image.title="storefront-router" \
      org.opencontainers.image.description="Storefront federation router: one GraphQL endpoint and the playground"
COPY --from=build /out/router /usr/local/bin/router
COPY --from=build /src/schema/supergraph.graphql /etc/storefront/supergraph.graphql
ENV PORT=4000
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/usr/local/bin/router", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/router"]

FROM runtime AS users
LABEL org.opencontainers.image.title="storefront-users" \
      org.opencontainers.image.description="Storefront users subgraph: accounts, credentials, tokens"
COPY --from=build /out/users /usr/local/bin/users
ENV PORT=4001
EXPOSE 4001
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/usr/local/bin/users", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/users"]

FROM runtime AS orders
LABEL org.opencontainers.image.title="storefront-orders" \
      org.opencontainers.image.description="Storefront orders subgraph: orders and their lifecycle"
COPY --from=build /out/orders /usr/local/bin/orders
ENV PORT=4002
EXPOSE 4002
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/usr/local/bin/orders", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/orders"]

FROM runtime AS payments
LABEL org.opencontainers.image.title="storefront-payments" \
      org.opencontainers.image.description="Storefront payments subgraph: payments, refunds, provider calls"
COPY --from=build /out/payments /usr/local/bin/payments
ENV PORT=4003
EXPOSE 4003
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/usr/local/bin/payments", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/payments"]

FROM runtime AS inventory
LABEL org.opencontainers.image.title="storefront-inventory" \
      org.opencontainers.image.description="Storefront inventory subgraph: catalogue and stock"
COPY --from=build /out/inventory /usr/local/bin/inventory
ENV PORT=4004
EXPOSE 4004
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/usr/local/bin/inventory", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/inventory"]
