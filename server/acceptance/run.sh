#!/usr/bin/env bash
# Runs PubNub's official Python SDK (from PyPI, in a throwaway venv) against
# the local presence server: join, state-change, leave and timeout events
# through its subscribe-with-presence loop. Needs python3 and PyPI.
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
