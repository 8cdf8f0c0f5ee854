#!/usr/bin/env bash
# Compares the engine's restore with `aws s3 cp - | zstd -d | tar -x` (and `createdb` then
# `| psql --single-transaction` for the dump) on the backup the engine made of the data of
# scripts/bench.sh, from the same S3 server. The directory and the database are measured
# apart: a new directory, a new database each time, removed between runs, not measured.
# Usage: scripts/bench_restore.sh [SCALE...]   (default: 1 4)
# Needs what scripts/bench.sh needs, and createdb. Each scale is measured BENCH_RUNS times
# (default 3), alternating the two tools. Writes $BENCH_DIR/restore.md, then its medians.
set -euo pipefail

source "$(dirname "$0")/bench_common.sh"
bench_build bench_backup bench_restore
bench_server

RESULTS="$WORK/restore.md"
echo "| scale | run | source | restored (MB) | stored (MB) | tool | wall (s) | CPU user+sys (s) | peak RSS (MiB) |" > "$RESULTS"
echo "|---|---|---|---|---|---|---|---|---|" >> "$RESULTS"

# Removes what the last restore made and lets the disk catch up, so no run pays for another.
clean() {
    rm -rf "$TO_DIR" "$WORK"/.restored-*.restoring-*
    PGOPTIONS="-c client_min_messages=warning" psql $PG -qc "DROP DATABASE IF EXISTS $TO_DB"
    psql $PG -qc "CHECKPOINT"
    sync
    quiet
}

# The key of source $1's object in the backup, and its size: read (MB) or stored (MB).
key() { awk -F': ' -v name="$1" '$1 ~ "/" name "\\." { print $1 }' "$WORK/backup-$SCALE.out"; }
read_mb() { awk -v name="$1" '$1 ~ "/" name "\\." { printf "%.0f", $(NF - 5) / 1e6 }' "$WORK/backup-$SCALE.out"; }
stored_mb() { awk -v name="$1" '$1 ~ "/" name "\\." { printf "%.0f", $(NF - 2) / 1e6 }' "$WORK/backup-$SCALE.out"; }

# What the restore of run 1 made is what was backed up: the files, the rows.
check() {
    case $1 in
        files) diff -r "$DATA" "$TO_DIR" >/dev/null || { echo "$2: $TO_DIR differs from $DATA" >&2; exit 1; } ;;
        db)
            local query="SELECT count(*), sum(aid::bigint * bid), sum(abalance) FROM pgbench_accounts"
            [ "$(psql $PG -d "$DB" -Atc "$query")" = "$(psql $PG -d "$TO_DB" -Atc "$query")" ] ||
                { echo "$2: $TO_DB differs from $DB" >&2; exit 1; } ;;
    esac
}

for SCALE in "${SCALES[@]}"; do
    bench_data "$SCALE"
    TO_DIR="$WORK/restored-$SCALE"
    TO_DB="s3b_restored_$SCALE"
    TO_URL="postgresql://postgres@127.0.0.1:5432/$TO_DB"
    # The backup both tools restore, made once; its objects in the page cache for both.
    "$EXAMPLES/bench_backup" "$ENDPOINT" bench "restore-$SCALE" "$DATA" "$PGURL" > "$WORK/backup-$SCALE.out"
    cat "$WORK/s3/bench/restore-$SCALE"/*/* > /dev/null

    for RUN in $(seq "$RUNS"); do
        for SOURCE in files db; do
            case $SOURCE in
                files) PIPELINE="mkdir '$TO_DIR' && aws --endpoint-url '$ENDPOINT' s3 cp 's3://bench/$(key files)' - | zstd -d -q | tar -xf - -C '$TO_DIR'"
                       TO=$TO_DIR ;;
                db) PIPELINE="createdb $PG '$TO_DB' && aws --endpoint-url '$ENDPOINT' s3 cp 's3://bench/$(key db)' - | zstd -d -q | psql -q -v ON_ERROR_STOP=1 --single-transaction -d '$TO_URL' > /dev/null"
                    TO=$TO_URL ;;
            esac
            for TOOL in engine pipeline; do
                clean
                if [ "$TOOL" = engine ]; then
                    /usr/bin/time -v -o "$WORK/restore.time" \
                        "$EXAMPLES/bench_restore" "$ENDPOINT" bench "restore-$SCALE" "$SOURCE" "$TO"
                else
                    /usr/bin/time -v -o "$WORK/restore.time" bash -c "set -eo pipefail; $PIPELINE"
                fi
                [ "$RUN" = 1 ] && check "$SOURCE" "$TOOL"
                read -r name wall cpu rss < <(measure "$TOOL" "$WORK/restore.time")
                echo "| $SCALE | $RUN | $SOURCE | $(read_mb "$SOURCE") | $(stored_mb "$SOURCE") | $name | $wall | $cpu | $rss |" >> "$RESULTS"
            done
        done
    done
    clean
done
cat "$RESULTS"
echo
medians "$RESULTS"
