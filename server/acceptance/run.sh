#!/usr/bin/env bash
# Runs PubNub's official Python SDK (from PyPI, in a throwaway venv) and
# JavaScript SDK (from npm, on Node.js) against the local presence server:
# join, state-change, leave and timeout events through each one's
# subscribe-with-presence loop. Needs python3 with PyPI, and node with npm.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="${PRESENCE_ACCEPTANCE_VENV:-target/acceptance-venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet "pubnub==10.8.0"

cargo build --quiet -p presence-server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/debug/presence-server --listen "127.0.0.1:$port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/time/0" && break
  sleep 0.1
done
timeout 300 "$venv/bin/python" server/acceptance/python_presence.py "127.0.0.1:$port"

node_dir="${PRESENCE_ACCEPTANCE_NODE:-target/acceptance-node}"
mkdir -p "$node_dir"
if [[ ! -f "$node_dir/node_modules/pubnub/package.json" ]] || ! grep -q '"version": "12\.' "$node_dir/node_modules/pubnub/package.json"; then
  (cd "$node_dir" && npm install --silent --no-audit --no-fund "pubnub@12")
fi
NODE_PATH="$node_dir/node_modules" timeout 300 node server/acceptance/js_presence.cjs "127.0.0.1:$port"
