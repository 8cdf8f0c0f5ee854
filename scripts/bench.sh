#!/usr/bin/env bash
# Compares the backup engine with `tar | zstd -3 -T0 | aws s3 cp -` (and the same for
# pg_dump) on the same data and the same S3 server (s3s-fs in another process, loopback).
# Usage: scripts/bench.sh [SCALE...]   (scale 1 is about 700 MB; default: 1 4)
# Needs: s3s-fs (cargo install s3s-fs --version 0.14.1 --features binary --locked),
#        awscli (pip install awscli), zstd, pg_dump, pgbench, /usr/bin/time, python3.
# Each scale is measured BENCH_RUNS times (default 3), alternating the two tools.
# Writes results to $BENCH_DIR/results.md (default /tmp/s3-backup-bench).
set -euo pipefail

cd "$(dirname "$0")/.."
SCALES=("${@:-1 4}")
SCALES=(${SCALES[*]})
WORK=${BENCH_DIR:-/tmp/s3-backup-bench}
PORT=${BENCH_PORT:-8019}
RUNS=${BENCH_RUNS:-3}
ENDPOINT="http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID=benchaccesskey AWS_SECRET_ACCESS_KEY=benchsecretkey
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE="$WORK/aws-config"
mkdir -p "$WORK"
printf '[default]\ns3 =\n    addressing_style = path\n' > "$AWS_CONFIG_FILE"

for tool in s3s-fs aws zstd pg_dump pgbench psql python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

cargo build --release --example bench_backup
ENGINE=target/release/examples/bench_backup

rm -rf "$WORK/s3" && mkdir -p "$WORK/s3"
s3s-fs --host 127.0.0.1 --port "$PORT" --access-key "$AWS_ACCESS_KEY_ID" \
    --secret-key "$AWS_SECRET_ACCESS_KEY" "$WORK/s3" > "$WORK/s3s-fs.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
aws --endpoint-url "$ENDPOINT" s3 mb s3://bench >/dev/null

# "name: wall_s cpu_s rss_mib" from a /usr/bin/time -v report.
measure() {
    awk -v name="$1" -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
        /User time/ { user = $2 } /System time/ { sys = $2 }
        /Maximum resident set size/ { rss = $2 / 1024 }
        END { printf "%s %.2f %.2f %.1f\n", name, wall, user + sys, rss }' "$2"
}

RESULTS="$WORK/results.md"
echo "| scale | run | data read (MB) | stored (MB) | tool | wall (s) | CPU user+sys (s) | peak RSS (MiB) |" > "$RESULTS"
echo "|---|---|---|---|---|---|---|---|" >> "$RESULTS"

for SCALE in "${SCALES[@]}"; do
    DATA="$WORK/data-$SCALE"
    if [ ! -f "$DATA/.complete" ]; then
        rm -rf "$DATA"
        python3 scripts/bench_data.py "$DATA" "$SCALE"
        touch "$DATA/.complete"
    fi
    DB="s3b_bench_$SCALE"
    if ! psql -h 127.0.0.1 -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
        psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"
        pgbench -h 127.0.0.1 -U postgres -i -q -s $((5 * SCALE)) "$DB" >/dev/null 2>&1
    fi
    PGURL="postgres://postgres@127.0.0.1:5432/$DB"
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
