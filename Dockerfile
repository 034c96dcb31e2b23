# Multi-stage build: compile in the Rust image, run in a slim Debian image as
# a non-root user. SQLite and libpq are bundled into the binary.
FROM rust:1-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends libssl-dev pkg-config && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY config config
COPY benches benches
# The workspace's other member must exist for Cargo to read the manifest.
COPY tools tools
RUN cargo build --release --locked -p ballotbox --bin ballotbox

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app ballotbox
WORKDIR /app
COPY --from=build /src/target/release/ballotbox /usr/local/bin/ballotbox
COPY config config
RUN mkdir -p /app/data && chown ballotbox /app/data
USER ballotbox
# BALLOTBOX_ENV=production requires keys: set BALLOTBOX__KEYS__JWT_SECRET_FILE
# and BALLOTBOX__KEYS__SIGNING_KEY_FILE (or the values themselves).
ENV BALLOTBOX_ENV=production \
    DATABASE_URL=/app/data/ballotbox.db \
    BALLOTBOX__SERVER__BIND=0.0.0.0:8080
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["ballotbox"]
CMD ["serve"]
