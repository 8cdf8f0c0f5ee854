#!/usr/bin/env bash
# Compares the backup engine with `tar | zstd -3 -T0 | aws s3 cp -` (and the same for
# pg_dump) on the same data and the same S3 server (s3s-fs in another process, loopback).
# Usage: scripts/bench.sh [SCALE...]   (scale 1 is about 700 MB; default: 1 4)
# Needs: s3s-fs (cargo install s3s-fs --version 0.14.1 --features binary --locked),
#        awscli (pip install awscli), zstd, pg_dump, pgbench, /usr/bin/time, python3.
# Each scale is measured BENCH_RUNS times (default 3), alternating the two tools.
# Writes results to $BENCH_DIR/results.md (default /tmp/s3-backup-bench), then their medians.
# scripts/bench_restore.sh measures the other way, on the same data.
set -euo pipefail

source "$(dirname "$0")/bench_common.sh"
bench_build bench_backup
ENGINE=$EXAMPLES/bench_backup
bench_server

RESULTS="$WORK/results.md"
echo "| scale | run | data read (MB) | stored (MB) | tool | wall (s) | CPU user+sys (s) | peak RSS (MiB) |" > "$RESULTS"
echo "|---|---|---|---|---|---|---|---|" >> "$RESULTS"

for SCALE in "${SCALES[@]}"; do
    bench_data "$SCALE"
    # Same warm page cache for both (GNU tar skips reading files when writing to /dev/null).
    tar cf - -C "$DATA" . | cat > /dev/null

    for RUN in $(seq "$RUNS"); do
    /usr/bin/time -v -o "$WORK/engine-$SCALE.time" \
        "$ENGINE" "$ENDPOINT" bench "engine-$SCALE" "$DATA" "$PGURL" > "$WORK/engine-$SCALE.out"
    /usr/bin/time -v -o "$WORK/pipeline-$SCALE.time" bash -c "
        set -o pipefail
        tar cf - -C '$DATA' . | zstd -3 -T0 -q | aws --endpoint-url '$ENDPOINT' s3 cp - s3://bench/pipeline-$SCALE/files.tar.zst
        pg_dump --no-owner --no-privileges --dbname='$PGURL' | zstd -3 -T0 -q | aws --endpoint-url '$ENDPOINT' s3 cp - s3://bench/pipeline-$SCALE/db.sql.zst
    "
    read_mb=$(awk '{ sum += $(NF-5) } END { printf "%.0f", sum / 1e6 }' "$WORK/engine-$SCALE.out")
    stored_mb=$(awk '{ sum += $(NF-2) } END { printf "%.0f", sum / 1e6 }' "$WORK/engine-$SCALE.out")
    pipe_mb=$(aws --endpoint-url "$ENDPOINT" s3 ls --recursive "s3://bench/pipeline-$SCALE/" | awk '{ sum += $3 } END { printf "%.0f", sum / 1e6 }')
    for tool in engine pipeline; do
        read -r name wall cpu rss < <(measure "$tool" "$WORK/$tool-$SCALE.time")
        stored=$stored_mb; [ "$tool" = pipeline ] && stored=$pipe_mb
        echo "| $SCALE | $RUN | $read_mb | $stored | $name | $wall | $cpu | $rss |" >> "$RESULTS"
    done
    rm -rf "$WORK/s3/bench/engine-$SCALE" "$WORK/s3/bench/pipeline-$SCALE"
    done
done
cat "$RESULTS"
echo
medians "$RESULTS"
