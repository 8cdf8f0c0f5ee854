#!/usr/bin/env bash
# Compares the engine's verification (`backup::verify::verify`, behind the Verify button,
# the schedule and `s3-backup verify`) with what an admin would type, on backups the engine
# made of the data of scripts/bench.sh, from the same S3 server:
# - the directory's backup: download, size and SHA-256, zstd decoded to its end, every entry
#   of the archive read and counted, against `aws s3 cp s3://… - | sha256sum` (download and
#   hash only);
# - the PostgreSQL dump's backup: the same checks and a test restore into a scratch database
#   (tables and rows counted, then dropped), against `createdb && aws s3 cp - | zstd -d |
#   psql --single-transaction && dropdb`.
# Usage: scripts/bench_verify.sh [SCALE...]   (default: 1 4)
# Needs what scripts/bench.sh needs. Each scale is measured BENCH_RUNS times (default 3),
# alternating the tools. Writes $BENCH_DIR/verify.md, then its medians.
set -euo pipefail

source "$(dirname "$0")/bench_common.sh"
bench_build bench_backup bench_verify
bench_server

RESULTS="$WORK/verify.md"
SCRATCH="postgresql://postgres@127.0.0.1:5432/postgres"
EMPTY="$WORK/empty"
mkdir -p "$EMPTY"
echo "| scale | run | source | stored (MB) | tool | wall (s) | CPU user+sys (s) | peak RSS (MiB) |" > "$RESULTS"
echo "|---|---|---|---|---|---|---|---|" >> "$RESULTS"

# The key and stored size (MB) of source $1's object in backup $2's output.
key() { awk -F': ' -v name="$1" '$1 ~ "/" name "\\." { print $1 }' "$WORK/$2.out"; }
stored_mb() { awk -v name="$1" '$1 ~ "/" name "\\." { printf "%.0f", $(NF - 2) / 1e6 }' "$WORK/$2.out"; }

for SCALE in "${SCALES[@]}"; do
    bench_data "$SCALE"
    TO_DB="s3b_verify_pipeline_$SCALE"
    # One backup of the directory alone, one of the database (beside an empty directory).
    "$EXAMPLES/bench_backup" "$ENDPOINT" bench "verify-files-$SCALE" "$DATA" > "$WORK/verify-files-$SCALE.out"
    "$EXAMPLES/bench_backup" "$ENDPOINT" bench "verify-db-$SCALE" "$EMPTY" "$PGURL" > "$WORK/verify-db-$SCALE.out"
    cat "$WORK/s3/bench/verify-files-$SCALE"/*/* "$WORK/s3/bench/verify-db-$SCALE"/*/* > /dev/null

    for RUN in $(seq "$RUNS"); do
        for SOURCE in files db; do
            BACKUP="verify-$SOURCE-$SCALE"
            case $SOURCE in
                files) PIPELINE="aws --endpoint-url '$ENDPOINT' s3 cp 's3://bench/$(key files "$BACKUP")' - | sha256sum > /dev/null" ;;
                db) PIPELINE="createdb $PG '$TO_DB' && aws --endpoint-url '$ENDPOINT' s3 cp 's3://bench/$(key db "$BACKUP")' - | zstd -d -q | psql -q -v ON_ERROR_STOP=1 --single-transaction $PG -d '$TO_DB' > /dev/null && dropdb $PG '$TO_DB'" ;;
            esac
            for TOOL in engine pipeline; do
                psql $PG -qc "CHECKPOINT"
                sync
                quiet
                if [ "$TOOL" = engine ]; then
                    /usr/bin/time -v -o "$WORK/verify.time" \
                        "$EXAMPLES/bench_verify" "$ENDPOINT" bench "$BACKUP" "$SCRATCH" > "$WORK/verify.out"
                    [ "$RUN" = 1 ] && cat "$WORK/verify.out"
                else
                    /usr/bin/time -v -o "$WORK/verify.time" bash -c "set -eo pipefail; $PIPELINE"
                fi
                read -r name wall cpu rss < <(measure "$TOOL" "$WORK/verify.time")
                echo "| $SCALE | $RUN | $SOURCE | $(stored_mb "$SOURCE" "$BACKUP") | $name | $wall | $cpu | $rss |" >> "$RESULTS"
            done
        done
    done
    # No scratch database is left behind.
    if psql $PG -Atc "SELECT datname FROM pg_database WHERE datname LIKE 's3backup_verify_%'" | grep -q .; then
        echo "a scratch database was left behind" >&2
        exit 1
    fi
done
cat "$RESULTS"
echo
medians "$RESULTS"
