#!/usr/bin/env bash
# What access logging costs a fast request: runs the `http_server` binary of this crate
# (bin/http_server.rs) under wrk once per logging mode and prints requests/s, p50/p99 latency and
# the requests/s lost against `none`, unpinned and with the server pinned to its own core, and
# next to them the CPU time the server's request threads ran per request (what logging costs the
# request thread itself) and the time fastsyslog's writer and the in-process receiver ran.
#
#   benches/http.sh                 # 3 rounds x 8 modes x 3 s, unpinned then pinned
#   ROUNDS=5 DURATION=10 CONNS=32 benches/http.sh
#   PIN=yes MODES="none file background" benches/http.sh
#
# Modes: none, file (a line-flushed file logger on the request thread), sync and background
# (fastsyslog into the server's in-process datagram receiver), stream (background mode over the
# stream transport into an in-process stream receiver), and sync@rsyslogd, background@rsyslogd
# and stream@rsyslogd (fastsyslog into a real rsyslogd writing files, through imuxsock or, for
# stream, imptcp on a unix path, started here from a generated config in a temp dir with its own
# sockets; the machine's /dev/log is never used).
#
# Pinned (PIN=yes, or the second half of PIN=both, the default): the server runs on CPU 0
# (`taskset -c 0`), and wrk, fastsyslog's writer thread, the in-process receiver's thread and
# rsyslogd run on CPU 1, so the request threads pay only what logging costs them on their own
# core. Unpinned, everything shares both cores.
#
# The modes run round-robin, ROUNDS times, and each figure is the median over the rounds, so a
# burst of load elsewhere on the machine hits every mode rather than one. The last lines give the
# target: background logging's requests/s overhead at most 0.25x line-flushed file logging's,
# server pinned. Needs wrk (apt-get install -y wrk) and rsyslogd for the @rsyslogd modes.
set -euo pipefail

DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-1}
CONNS=${CONNS:-8}
MODES=${MODES:-"none file sync background stream sync@rsyslogd background@rsyslogd stream@rsyslogd"}
PIN=${PIN:-both}
case $PIN in
    both) PINS="no yes" ;;
    yes | no) PINS=$PIN ;;
    *) echo "PIN must be yes, no or both, not $PIN" >&2; exit 2 ;;
esac

# The workspace root: its target/ holds the binary.
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
cargo build --quiet --release -p fastsyslog-benches --bin http_server
bin=target/release/http_server
tmp=$(mktemp -d -t fastsyslog-http.XXXXXX)
server=""
rsyslogd_pid=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    if [ -n "$rsyslogd_pid" ]; then kill "$rsyslogd_pid" 2>/dev/null || true; wait "$rsyslogd_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "http.sh: failed at line $LINENO" >&2' ERR

# A private rsyslogd writing every record to a file, when a mode needs it.
rsyslog_socket=$tmp/rsyslogd/log.sock
rsyslog_stream=$tmp/rsyslogd/stream.sock
case " $MODES " in
    *@rsyslogd*)
        rsyslogd=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
        [ -x "$rsyslogd" ] || { echo "rsyslogd not found: apt-get install -y rsyslog" >&2; exit 1; }
        mkdir -p "$tmp/rsyslogd"
        cat >"$tmp/rsyslogd/rsyslog.conf" <<CONF
global(workDirectory="$tmp/rsyslogd" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$rsyslog_socket" CreatePath="off" RateLimit.Interval="0")
module(load="imptcp")
input(type="imptcp" path="$rsyslog_stream" unlink="on" SupportOctetCountedFraming="on" RateLimit.Interval="0")
*.* action(type="omfile" file="$tmp/rsyslogd/all.log")
CONF
        "$rsyslogd" -n -f "$tmp/rsyslogd/rsyslog.conf" -i "$tmp/rsyslogd/rsyslogd.pid" \
            >"$tmp/rsyslogd/out" 2>&1 &
        rsyslogd_pid=$!
        for _ in $(seq 100); do [ -S "$rsyslog_socket" ] && [ -S "$rsyslog_stream" ] && break; sleep 0.05; done
        [ -S "$rsyslog_socket" ] && [ -S "$rsyslog_stream" ] || { echo "rsyslogd did not start:" >&2; cat "$tmp/rsyslogd/out" >&2; exit 1; }
        ;;
esac

# wrk prints latency percentiles as e.g. "50%   52.00us"; convert to microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "ns") n /= 1000; else if (u == "ms") n *= 1000; else if (u == "s") n *= 1000000
        printf "%.1f", n }'
}

# Moves the server's logging threads (fastsyslog's writer, the in-process receiver) to CPU 1.
pin_logging_threads() {
    local task comm
    for task in /proc/"$1"/task/*; do
        comm=$(cat "$task/comm" 2>/dev/null || true)
        case $comm in
            fastsyslog-writ* | testkit-sink* | testkit-stream*) taskset -p -c 1 "${task##*/}" >/dev/null ;;
        esac
    done
}

# The server's totals once its connections have closed (at most 5 s): "requests cpu_ns
# logging_cpu_ns", from GET /__stats (requests served and CPU time run by the request threads of
# closed connections; CPU time run by fastsyslog's writer and the in-process receiver).
server_stats() {
    local reply=""
    for _ in $(seq 100); do
        exec 5<>"/dev/tcp/127.0.0.1/$1"
        printf 'GET /__stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&5
        reply=$(tail -n 1 <&5)
        exec 5<&-
        case $reply in *" open 0 "*) break ;; esac
        sleep 0.05
    done
    echo "$reply" | awk '{ print $2, $4, $8 }'
}

# One measured run of one mode: appends "rps p50_us p99_us cpu_us_per_request
# logging_cpu_us_per_request" to $tmp/result.$pin.$mode.
run_mode() {
    local pin=$1 mode=$2 log=${2%@*} port="" server_cpu="" wrk_cpu=""
    if [ "$pin" = yes ]; then server_cpu="taskset -c 0"; wrk_cpu="taskset -c 1"; fi
    # Emptied here, not only by the background job's redirection, which may run after the loop
    # below has read the previous server's port.
    : >"$tmp/server"
    if [ "$mode" = stream@rsyslogd ]; then
        FASTSYSLOG_SOCKET=stream:$rsyslog_stream $server_cpu "$bin" --log "$log" >"$tmp/server" 2>&1 &
    elif [ "$mode" != "$log" ]; then
        FASTSYSLOG_SOCKET=$rsyslog_socket $server_cpu "$bin" --log "$log" >"$tmp/server" 2>&1 &
    else
        env -u FASTSYSLOG_SOCKET $server_cpu "$bin" --log "$log" >"$tmp/server" 2>&1 &
    fi
    server=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "server ($mode) did not start:" >&2; cat "$tmp/server" >&2; exit 1; }
    if [ "$pin" = yes ]; then pin_logging_threads "$server"; fi
    # A short warm-up, then the measured run.
    $wrk_cpu wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$port/" >/dev/null
    # Again: the stream receiver's reader thread starts when the writer's connection is accepted.
    if [ "$pin" = yes ]; then pin_logging_threads "$server"; fi
    local before after
    before=$(server_stats "$port")
    $wrk_cpu wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$port/items/12345?page=2" >"$tmp/wrk"
    after=$(server_stats "$port")
    kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""
    local rps p50 p99 cpu
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk")
    p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$tmp/wrk")")
    p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$tmp/wrk")")
    # The request threads' CPU time per request over the measured run.
    cpu=$(echo "$before $after" | awk '{ r = $4 - $1
        printf "%.2f %.2f", (r > 0 ? ($5 - $2) / r / 1000 : 0), (r > 0 ? ($6 - $3) / r / 1000 : 0) }')
    echo "$rps $p50 $p99 $cpu" >>"$tmp/result.$pin.$mode"
}

# The median of column $2 of file $1.
median() { sort -g -k"$2","$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }

for round in $(seq "$ROUNDS"); do
    for pin in $PINS; do
        if [ -n "$rsyslogd_pid" ]; then
            if [ "$pin" = yes ]; then cpus=1; else cpus=0,1; fi
            taskset -a -p -c "$cpus" "$rsyslogd_pid" >/dev/null
        fi
        for mode in $MODES; do
            echo "round $round/$ROUNDS, pinned=$pin: $mode" >&2
            run_mode "$pin" "$mode"
        done
    done
done

for pin in $PINS; do
    if [ "$pin" = yes ]; then
        echo "server pinned to CPU 0; wrk, the writer thread, the receiver and rsyslogd on CPU 1"
    else
        echo "unpinned: everything shares the machine's $(nproc) CPUs"
    fi
    printf '%-20s %12s %10s %10s %10s %12s %10s %16s\n' mode "requests/s" "p50 us" "p99 us" overhead "cpu us/req" "cpu cost" "writer+rx us/req"
    base=""
    cpu_base=""
    for mode in $MODES; do
        rps=$(median "$tmp/result.$pin.$mode" 1)
        p50=$(median "$tmp/result.$pin.$mode" 2)
        p99=$(median "$tmp/result.$pin.$mode" 3)
        cpu=$(median "$tmp/result.$pin.$mode" 4)
        writer=$(median "$tmp/result.$pin.$mode" 5)
        if [ -z "$base" ]; then base=$rps; cpu_base=$cpu; fi
        overhead=$(awk -v b="$base" -v r="$rps" 'BEGIN { printf "%+.1f%%", (b - r) / b * 100 }')
        cost=$(awk -v b="$cpu_base" -v c="$cpu" 'BEGIN { if (b > 0) printf "%+.1f%%", (c - b) / b * 100; else print "n/a" }')
        echo "$rps" >"$tmp/rps.$pin.$mode"
        echo "$cpu" >"$tmp/cpu.$pin.$mode"
        printf '%-20s %12s %10s %10s %10s %12s %10s %16s\n' "$mode" "$rps" "$p50" "$p99" "$overhead" "$cpu" "$cost" "$writer"
    done
    echo
done
echo "(medians of $ROUNDS rounds, ${DURATION} s each, $CONNS connections, $THREADS wrk thread(s); overhead = requests/s lost"
echo " against the first mode; cpu us/req = CPU time the server's request threads ran per request, cpu cost = its"
echo " increase over the first mode: what logging costs the request thread, whatever shares the other core;"
echo " writer+rx us/req = CPU time fastsyslog's writer thread and the in-process receiver ran per request,"
echo " what logging costs off the request thread (rsyslogd's own time is not in it))"

# The target: background logging's overhead at most 0.25x line-flushed file logging's, pinned.
# Measured on requests/s (the target's own measure) and on the request threads' CPU time: pinned,
# wrk shares CPU 1 with the writer and the receiver, so requests/s also falls when their work
# slows wrk down, which the request thread never pays.
set -- $MODES
first=$1
for pin in $PINS; do
    for mode in background background@rsyslogd stream stream@rsyslogd; do
        [ -f "$tmp/rps.$pin.$mode" ] && [ -f "$tmp/rps.$pin.file" ] && [ "$first" = none ] || continue
        for measure in rps cpu; do
            awk -v none="$(cat "$tmp/$measure.$pin.none")" -v file="$(cat "$tmp/$measure.$pin.file")" \
                -v bg="$(cat "$tmp/$measure.$pin.$mode")" -v pin="$pin" -v mode="$mode" -v measure="$measure" 'BEGIN {
                if (measure == "rps") { what = "requests/s"; fo = (none - file) / none; bo = (none - bg) / none }
                else { what = "request-thread CPU"; fo = (file - none) / none; bo = (bg - none) / none }
                if (none <= 0) { printf "  [ -- ] %s overhead vs file on %s, pinned=%s: not measured\n", mode, what, pin; exit }
                if (fo <= 0) { printf "  [ -- ] %s overhead vs file on %s, pinned=%s: file logging cost nothing here (%.1f%%)\n", mode, what, pin, fo * 100; exit }
                r = bo / fo
                printf "  [%s] %s overhead <= 0.25x file'"'"'s on %s, pinned=%s: %.2fx (%.1f%% vs %.1f%%)\n", (r <= 0.25 ? "met " : "MISS"), mode, what, pin, r, bo * 100, fo * 100 }'
        done
    done
done
