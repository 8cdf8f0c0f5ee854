#!/usr/bin/env bash
# What age encryption costs a backup: the engine on the same data and the same S3 server
# (s3s-fs in another process, loopback), once in clear and once encrypted for an age key
# (AGE_RECIPIENTS), alternating, which of the two goes first alternating too. The encrypted
# objects are checked to decrypt with the `age` tool and to match the clear ones once
# decompressed. Then, per scale, the same bytes (the directory's archive and the dump) through
# the stream's own work only, in memory on one thread (examples/bench_seal.rs), clear and
# encrypted pass by pass: the shared machine's noise is larger than the difference between
# two whole backups, and much smaller between two passes a second apart.
# Usage: scripts/bench_encrypt.sh [SCALE...]   (scale 1 is about 700 MB; default: 1 4)
# BENCH_SEAL_MIB (400) and BENCH_SEAL_ROUNDS (30) size the stream's passes.
# Needs what scripts/bench.sh needs, and age-keygen / age (Debian package age).
# Writes results to $BENCH_DIR/encrypt.md (default /tmp/s3-backup-bench), then their medians.
set -euo pipefail

source "$(dirname "$0")/bench_common.sh"
for tool in age age-keygen; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
bench_build bench_backup bench_seal
ENGINE=$EXAMPLES/bench_backup
bench_server

KEY="$WORK/bench-key.txt"
rm -f "$KEY" && age-keygen -o "$KEY" 2>/dev/null
RECIPIENT=$(age-keygen -y "$KEY")

RESULTS="$WORK/encrypt.md"
STREAM=()
echo "| scale | run | data read (MB) | stored (MB) | backup | wall (s) | CPU user+sys (s) | peak RSS (MiB) |" > "$RESULTS"
echo "|---|---|---|---|---|---|---|---|" >> "$RESULTS"

for SCALE in "${SCALES[@]}"; do
    bench_data "$SCALE"
    tar cf - -C "$DATA" . | cat > /dev/null
    for RUN in $(seq "$RUNS"); do
        # Which goes first alternates, so that neither always runs on a machine the other
        # has just warmed (or heated).
        order="clear encrypted"; [ $((RUN % 2)) = 0 ] && order="encrypted clear"
        for MODE in $order; do
            quiet
            recipients=""; [ "$MODE" = encrypted ] && recipients=$RECIPIENT
            /usr/bin/time -v -o "$WORK/$MODE-$SCALE.time" env ${recipients:+AGE_RECIPIENTS="$recipients"} \
                "$ENGINE" "$ENDPOINT" bench "$MODE-$SCALE" "$DATA" "$PGURL" > "$WORK/$MODE-$SCALE.out"
            read_mb=$(awk '{ sum += $(NF-5) } END { printf "%.0f", sum / 1e6 }' "$WORK/$MODE-$SCALE.out")
            stored_mb=$(awk '{ sum += $(NF-2) } END { printf "%.0f", sum / 1e6 }' "$WORK/$MODE-$SCALE.out")
            read -r name wall cpu rss < <(measure "$MODE" "$WORK/$MODE-$SCALE.time")
            echo "| $SCALE | $RUN | $read_mb | $stored_mb | $name | $wall | $cpu | $rss |" >> "$RESULTS"
        done
        # Once per scale: the encrypted database dump decrypts with age to what the clear
        # backup stored, byte for byte once decompressed.
        if [ "$RUN" = 1 ]; then
            clear_db=$(find "$WORK/s3/bench/clear-$SCALE" -name 'db.sql.zst')
            sealed_db=$(find "$WORK/s3/bench/encrypted-$SCALE" -name 'db.sql.zst.age')
            cmp <(zstd -dc "$clear_db" | grep -v '^-- \|restrict\|^\\unrestrict') \
                <(age -d -i "$KEY" "$sealed_db" | zstd -dc | grep -v '^-- \|restrict\|^\\unrestrict') \
                || { echo "the encrypted dump does not decrypt to the clear one" >&2; exit 1; }
            cmp <(zstd -dc "$(find "$WORK/s3/bench/clear-$SCALE" -name 'files.tar.zst')") \
                <(age -d -i "$KEY" "$(find "$WORK/s3/bench/encrypted-$SCALE" -name 'files.tar.zst.age')" | zstd -dc) \
                || { echo "the encrypted archive does not decrypt to the clear one" >&2; exit 1; }
        fi
        rm -rf "$WORK/s3/bench/clear-$SCALE" "$WORK/s3/bench/encrypted-$SCALE"
    done
    INPUT="$WORK/stream-$SCALE"
    { tar cf - -C "$DATA" .; pg_dump $PG "$DB"; } > "$INPUT"
    quiet
    "$EXAMPLES/bench_seal" "$INPUT" "${BENCH_SEAL_MIB:-400}" "${BENCH_SEAL_ROUNDS:-30}" \
        > "$WORK/stream-$SCALE.out"
    STREAM+=("scale $SCALE, the stream alone: $(tail -1 "$WORK/stream-$SCALE.out")")
    rm -f "$INPUT"
done
cat "$RESULTS"
echo
medians "$RESULTS"
printf '%s\n' "${STREAM[@]}"
