#!/usr/bin/env bash
# Instructions per call, counted by valgrind's callgrind: repeatable for the
# same binary and inputs, whatever else the machine is doing (wall-clock on a
# shared 2-core VM moves by ±10–30 %). User-space only; the kernel's share is
# the same for both clients (same syscalls per call: check with `strace -c -f`).
#
#   ./bench/instructions.sh            # both tables (~5 min)
#   ./bench/instructions.sh requests   # or: decode
#
# Requests: the SDK bench binary runs one client alone for N sequential
# here_now calls (`BENCH_PROFILE`); running it for 1,000 and 3,000 calls and
# subtracting removes the setup, leaving the cost of 2,000 calls. Thread 1 is
# the client, the other threads are the presence server.
# Decode: `BENCH_PROFILE=decode:N` calls `parse_with_value` and
# `decode_with_sdk` N times each; their inclusive costs are divided by N.
set -euo pipefail
cd "$(dirname "$0")/.."
only="${1:-all}"

command -v valgrind >/dev/null || { echo "needs valgrind (apt install valgrind)" >&2; exit 1; }
bin=$(cargo bench -p presence-tests --bench sdk --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not find the bench binary" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

total() { grep -m1 '^summary:' "$1" | cut -d' ' -f2; }
inclusive() { callgrind_annotate --inclusive=yes "$1" 2>/dev/null | grep -F "$2" | head -1 | awk '{gsub(",", "", $1); print $1}'; }

if [ "$only" = all ] || [ "$only" = requests ]; then
    echo "## Request overhead: instructions per here_now call (client thread / server threads)"
    echo
    echo "| client | client | server | client + server | this ÷ SDK: implied calls/s of the SDK relative to this client |"
    echo "|---|---:|---:|---:|---:|"
    declare -A client_per server_per
    for who in hand hand-timeout sdk; do
        for calls in 1000 3000; do
            BENCH_PROFILE=$who BENCH_CALLS=$calls valgrind --tool=callgrind --separate-threads=yes \
                --callgrind-out-file="$out/$who.$calls" "$bin" >/dev/null 2>&1
        done
        c1=$(total "$out/$who.1000-01"); c3=$(total "$out/$who.3000-01")
        s1=0; for f in "$out/$who.1000"-0[2-9]; do s1=$((s1 + $(total "$f"))); done
        s3=0; for f in "$out/$who.3000"-0[2-9]; do s3=$((s3 + $(total "$f"))); done
        client_per[$who]=$(((c3 - c1) / 2000)); server_per[$who]=$(((s3 - s1) / 2000))
    done
    sdk=$((client_per[sdk] + server_per[sdk]))
    for who in hand hand-timeout sdk; do
        both=$((client_per[$who] + server_per[$who]))
        ratio=$(awk -v a="$both" -v b="$sdk" 'BEGIN { printf "%.3f×", a / b }')
        [ "$who" = sdk ] && ratio="—"
        echo "| $who | ${client_per[$who]} | ${server_per[$who]} | $both | $ratio |"
    done
    echo
fi

if [ "$only" = all ] || [ "$only" = decode ]; then
    echo "## Decode: instructions per call, body bytes → result"
    echo
    echo "| case | serde_json::Value | SDK | SDK ÷ Value |"
    echo "|---|---:|---:|---:|"
    for case in 0 1 2 3; do
        calls=$(case $case in 0) echo 2000;; 1) echo 200;; 2) echo 3;; *) echo 20;; esac)
        name=$(BENCH_PROFILE=decode:$case BENCH_CALLS=$calls valgrind --tool=callgrind \
            --callgrind-out-file="$out/decode.$case" "$bin" 2>/dev/null | sed 's/: .*//')
        value=$(( $(inclusive "$out/decode.$case" "sdk::parse_with_value") / calls ))
        ours=$(( $(inclusive "$out/decode.$case" "sdk::decode_with_sdk") / calls ))
        echo "| $name | $value | $ours | $(awk -v a="$ours" -v b="$value" 'BEGIN { printf "%.2f×", a / b }') |"
    done
    echo
fi
