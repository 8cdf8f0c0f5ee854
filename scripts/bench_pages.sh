#!/usr/bin/env bash
# The overview (/) and the history (/backups) under load, with 10,000 runs in the history:
# a release build on a fresh data directory seeded by scripts/bench_pages_seed.sql, a
# logged-in session, and wrk with 50 connections on loopback. Prints wrk's latency
# distribution (median, 75th, 90th and 99th percentiles) for each page.
#
# Settings: BENCH_DIR (default /tmp/s3-backup-bench-pages), BENCH_PORT (8029),
# BENCH_SECONDS (20), BENCH_CONNECTIONS (50), BENCH_THREADS (2); CARGO_TARGET_DIR is where
# the release binary is built (target).
#
# The machine should be otherwise idle: wrk and the app share its cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

WORK=${BENCH_DIR:-/tmp/s3-backup-bench-pages}
PORT=${BENCH_PORT:-8029}
SECONDS_EACH=${BENCH_SECONDS:-20}
CONNECTIONS=${BENCH_CONNECTIONS:-50}
THREADS=${BENCH_THREADS:-2}
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release/s3-backup"
BASE="http://127.0.0.1:$PORT"
PASSWORD="bench pages password 2026"

if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
fi
for tool in sqlite3 curl wrk; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

cargo build --release --bin s3-backup

rm -rf "$WORK" && mkdir -p "$WORK"
DATA="$WORK/data"
# Creating the account opens and migrates the database.
printf '%s\n' "$PASSWORD" | "$BIN" user create admin --data-dir "$DATA" >/dev/null
sqlite3 "$DATA/s3-backup.sqlite3" < scripts/bench_pages_seed.sql
echo "history: $(sqlite3 "$DATA/s3-backup.sqlite3" 'SELECT COUNT(*) FROM runs') runs" >&2

RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" > "$WORK/app.log" 2>&1 &
APP=$!
trap 'kill $APP 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

# Log in as a browser does: the form's token, then the session cookie.
JAR="$WORK/cookies"
TOKEN=$(curl -fs -c "$JAR" -b "$JAR" "$BASE/login" |
    sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n 1)
curl -fs -c "$JAR" -b "$JAR" -o /dev/null \
    --data-urlencode "csrf_token=$TOKEN" --data-urlencode "username=admin" \
    --data-urlencode "password=$PASSWORD" "$BASE/login"
SESSION=$(awk '$6 == "s3backup_session" { print $7 }' "$JAR")
[ -n "$SESSION" ] || { echo "login failed" >&2; exit 1; }
COOKIE="Cookie: s3backup_session=$SESSION"

# Each page answers 200 with its content before it is measured.
for page in "/ Overview" "/backups Backup history"; do
    path=${page%% *}
    title=${page#* }
    curl -fs -H "$COOKIE" "$BASE$path" | grep -q "<h1>$title</h1>" ||
        { echo "$path does not show $title" >&2; exit 1; }
done

echo "cores: $(nproc); $CONNECTIONS connections, $THREADS threads, ${SECONDS_EACH}s a page"
for path in / /backups; do
    # A short warm-up, then the measure.
    wrk -t "$THREADS" -c "$CONNECTIONS" -d 3s -H "$COOKIE" "$BASE$path" >/dev/null
    echo "== GET $path"
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "${SECONDS_EACH}s" --latency -H "$COOKIE" "$BASE$path" |
        sed -n '/Latency Distribution/,/requests in/p;/Requests\/sec/p;/Non-2xx/p;/Socket errors/p'
done
