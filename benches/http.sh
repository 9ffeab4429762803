#!/usr/bin/env bash
# What access logging costs a fast request: runs the `http_server` binary of this crate
# (bin/http_server.rs) under wrk once per logging mode (none, file, sync, background) and prints
# requests/s, p50/p99 latency and the overhead against `none`.
#
#   benches/http.sh                 # 3 rounds x 4 modes x 3 s
#   ROUNDS=5 DURATION=10 CONNS=32 benches/http.sh
#
# The modes run round-robin, ROUNDS times, and each figure is the median over the rounds, so a
# burst of load elsewhere on the machine hits every mode rather than one.
#
# The server logs into its own in-process datagram receiver (or FASTSYSLOG_SOCKET when set); the
# machine's /dev/log is never used. Needs wrk (apt-get install -y wrk).
set -euo pipefail

DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-1}
CONNS=${CONNS:-8}
MODES=${MODES:-"none file sync background"}

# The workspace root: its target/ holds the binary.
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
cargo build --quiet --release -p fastsyslog-benches --bin http_server
bin=target/release/http_server
tmp=$(mktemp -d -t fastsyslog-http.XXXXXX)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "http.sh: failed at line $LINENO" >&2' ERR

# wrk prints latency percentiles as e.g. "50%   52.00us"; convert to microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "ns") n /= 1000; else if (u == "ms") n *= 1000; else if (u == "s") n *= 1000000
        printf "%.1f", n }'
}

# One measured run of one mode: appends "rps p50_us p99_us" to $tmp/result.$mode.
run_mode() {
    local mode=$1 port=""
    "$bin" --log "$mode" >"$tmp/server.$mode" 2>&1 &
    server=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server.$mode")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "server ($mode) did not start:" >&2; cat "$tmp/server.$mode" >&2; exit 1; }
    # A short warm-up, then the measured run.
    wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$port/" >/dev/null
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$port/items/12345?page=2" >"$tmp/wrk.$mode"
    kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""
    local rps p50 p99
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.$mode")
    p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$tmp/wrk.$mode")")
    p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$tmp/wrk.$mode")")
    echo "$rps $p50 $p99" >>"$tmp/result.$mode"
}

# The median of column $2 of file $1.
median() { sort -g -k"$2","$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }

for round in $(seq "$ROUNDS"); do
    for mode in $MODES; do
        echo "round $round/$ROUNDS: $mode" >&2
        run_mode "$mode"
    done
done

printf '%-12s %12s %10s %10s %10s\n' mode "requests/s" "p50 us" "p99 us" overhead
base=""
for mode in $MODES; do
    rps=$(median "$tmp/result.$mode" 1)
    p50=$(median "$tmp/result.$mode" 2)
    p99=$(median "$tmp/result.$mode" 3)
    if [ -z "$base" ]; then base=$rps; fi
    overhead=$(awk -v b="$base" -v r="$rps" 'BEGIN { printf "%+.1f%%", (b - r) / b * 100 }')
    printf '%-12s %12s %10s %10s %10s\n' "$mode" "$rps" "$p50" "$p99" "$overhead"
done
echo "(medians of $ROUNDS rounds, ${DURATION} s each, $CONNS connections, $THREADS wrk thread(s); overhead = requests/s lost against the first mode)"
