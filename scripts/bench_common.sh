# What scripts/bench.sh and scripts/bench_restore.sh share: settings, the tools they need,
# the s3s-fs server in its own process, the data of a scale and the measures. Sourced.
#
# Settings: BENCH_DIR (default /tmp/s3-backup-bench), BENCH_PORT (8019), BENCH_RUNS (3),
# BENCH_QUIET (60, see quiet); CARGO_TARGET_DIR is where the examples are built (target).

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SCALES=("${@:-1 4}")
SCALES=(${SCALES[*]})
WORK=${BENCH_DIR:-/tmp/s3-backup-bench}
PORT=${BENCH_PORT:-8019}
RUNS=${BENCH_RUNS:-3}
EXAMPLES=${CARGO_TARGET_DIR:-target}/release/examples
ENDPOINT="http://127.0.0.1:$PORT"
PG="-h 127.0.0.1 -U postgres"
export AWS_ACCESS_KEY_ID=benchaccesskey AWS_SECRET_ACCESS_KEY=benchsecretkey
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE="$WORK/aws-config"
mkdir -p "$WORK"
printf '[default]\ns3 =\n    addressing_style = path\n' > "$AWS_CONFIG_FILE"

for tool in s3s-fs aws zstd pg_dump pgbench psql createdb python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

# Builds the named examples, release.
bench_build() {
    local args=()
    for example in "$@"; do args+=(--example "$example"); done
    cargo build --release "${args[@]}"
}

# Starts s3s-fs on an empty store with the bucket `bench`; stopped when the script exits.
bench_server() {
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
}

# The data of scale $1, generated once: sets DATA (the directory), DB and PGURL (the database).
bench_data() {
    local scale=$1
    DATA="$WORK/data-$scale"
    if [ ! -f "$DATA/.complete" ]; then
        rm -rf "$DATA"
        python3 scripts/bench_data.py "$DATA" "$scale"
        touch "$DATA/.complete"
    fi
    DB="s3b_bench_$scale"
    if ! psql $PG -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
        psql $PG -qc "CREATE DATABASE $DB"
        pgbench $PG -i -q -s $((5 * scale)) "$DB" >/dev/null 2>&1
    fi
    PGURL="postgres://postgres@127.0.0.1:5432/$DB"
}

# Waits (up to BENCH_QUIET seconds, default 60) for a second in which the CPUs are at least
# 85 % idle: the machine may be shared, and a run should not start in someone's build.
quiet() {
    local cpu user nice system idle iowait rest busy0 total0 busy1 total1
    for _ in $(seq "${BENCH_QUIET:-60}"); do
        read -r cpu user nice system idle iowait rest < /proc/stat
        busy0=$((user + nice + system)) total0=$((user + nice + system + idle + iowait))
        sleep 1
        read -r cpu user nice system idle iowait rest < /proc/stat
        busy1=$((user + nice + system)) total1=$((user + nice + system + idle + iowait))
        [ $((100 * (busy1 - busy0))) -le $((15 * (total1 - total0))) ] && return 0
    done
    echo "the machine is busy: measuring anyway" >&2
}

# "name: wall_s cpu_s rss_mib" from a /usr/bin/time -v report.
measure() {
    awk -v name="$1" -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
        /User time/ { user = $2 } /System time/ { sys = $2 }
        /Maximum resident set size/ { rss = $2 / 1024 }
        END { printf "%s %.2f %.2f %.1f\n", name, wall, user + sys, rss }' "$2"
}

# The medians of a results table whose second column is the run and whose last three are
# the measures: one row for each value of the other columns, in their first order.
medians() {
    python3 - "$1" <<'EOF'
import statistics, sys
rows = [line.strip().strip("|").split("|") for line in open(sys.argv[1])]
head, rows = [c.strip() for c in rows[0]], [[c.strip() for c in r] for r in rows[2:]]
groups = {}
for row in rows:
    groups.setdefault(tuple(row[:1] + row[2:-3]), []).append(row[-3:])
keep = head[:1] + head[2:]
print("| " + " | ".join(keep) + " |")
print("|" + "---|" * len(keep))
for key, values in groups.items():
    med = [f"{statistics.median(float(v[i]) for v in values):.{2 if i < 2 else 1}f}" for i in range(3)]
    print("| " + " | ".join(list(key) + med) + " |")
EOF
}
