#!/usr/bin/env bash
# Instructions per request on the server's request path, this tree against
# another commit, counted by valgrind's callgrind (repeatable whatever else the
# machine is doing; wall-clock req/s here moves by ±20 % between runs).
#
#   ./bench/server_instructions.sh 164b7cf    # this tree vs commit 164b7cf (~6 min)
#
# The bench binary (server/benches/request_cost.rs) runs the server and a
# minimal client on one thread for N sequential requests of one kind (one
# thread, so the interleaving and the count repeat). The count for 1,000 and
# 3,000 requests, subtracted, removes start-up, leaving the cost of 2,000
# requests; the client's share (the inclusive count of `Client::call`) is
# subtracted too, leaving the server's. The same bench source is built into the other
# commit's tree (a git worktree, its own target directory), so both builds do
# exactly the same work.
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:?usage: $0 COMMIT}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt install valgrind)" >&2; exit 1; }

work=$(mktemp -d)
trap 'git worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/tree" "$rev" >/dev/null 2>&1
cp server/benches/request_cost.rs "$work/tree/server/benches/"
grep -q 'name = "request_cost"' "$work/tree/server/Cargo.toml" \
    || printf '\n[[bench]]\nname = "request_cost"\nharness = false\n' >>"$work/tree/server/Cargo.toml"

binary() { # tree target-dir
    (cd "$1" && CARGO_TARGET_DIR="$2" cargo bench -p presence-server --bench request_cost --no-run 2>&1) \
        | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1
}
after=$(binary . "${CARGO_TARGET_DIR:-target}")
before=$(binary "$work/tree" "${BEFORE_TARGET_DIR:-$PWD/target/request-cost-before}")
[ -x "$after" ] && [ -x "$before" ] || { echo "could not build the bench binaries" >&2; exit 1; }

total() { grep -m1 '^summary:' "$1" | cut -d' ' -f2; }
client() {
    local n
    n=$(callgrind_annotate --inclusive=yes "$1" 2>/dev/null | grep -F 'request_cost::Client::call::{{closure}}' \
        | head -1 | awk '{gsub(",", "", $1); print $1}')
    [ -n "$n" ] || { echo "no count for Client::call in $1" >&2; exit 1; }
    echo "$n"
}

per_request() { # binary kind
    local n
    for n in 1000 3000; do
        BENCH_REQUEST=$2 BENCH_CALLS=$n valgrind --tool=callgrind \
            --callgrind-out-file="$work/$2.$n" "$1" >/dev/null 2>&1
    done
    local a b ca cb
    a=$(total "$work/$2.1000"); b=$(total "$work/$2.3000")
    ca=$(client "$work/$2.1000"); cb=$(client "$work/$2.3000")
    echo $(((b - cb - a + ca) / 2000))
}

echo "| request (server instructions each) | $rev | $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes') | after / before |"
echo "|---|---:|---:|---:|"
for kind in heartbeat here_now get_state handshake; do
    b=$(per_request "$before" "$kind")
    a=$(per_request "$after" "$kind")
    echo "| $kind | $b | $a | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }') |"
done
