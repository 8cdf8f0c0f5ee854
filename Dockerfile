# Build stage: compile the release binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

# Runtime: Debian slim with the dump tools the sources need, running as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates postgresql-client mariadb-client sqlite3 zstd \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data --uid 10001 s3backup \
    && install -d -m 0700 -o s3backup /data
COPY --from=build /src/target/release/s3-backup /usr/local/bin/s3-backup
USER s3backup
ENV S3BACKUP_LISTEN=0.0.0.0:8080 S3BACKUP_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["s3-backup"]
CMD ["serve"]
