#!/usr/bin/env bash
# Runs the Python bindings' tests against the installed wheels (see
# install.sh): pytest for pubnub_presence (against its embedded local
# server) and for the kitchen-sink fixture's bindings, then mypy's stubtest,
# which checks the generated .pyi stubs against the compiled modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${PYTHON_VENV:-target/python-venv}"
python="$PWD/$venv/bin/python"
# -rs: a skipped test says why (the seed comparisons skip without the official SDK).
# Each run is bounded (every wait in the tests is; this catches a hang elsewhere):
# they take ~25 s.
(cd bindings/python && timeout 600 "$python" -m pytest -q -rs -p no:cacheprovider "$@")
(cd codegen/fixtures/kitchen_sink/bindings/python && timeout 120 "$python" -m pytest -q -p no:cacheprovider)
# From another directory, so the installed packages are checked, not the sources.
if "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  (cd target && "$python" -m mypy.stubtest pubnub_presence kitchen_sink_fixture)
else
  echo "stubtest not run: mypy 2.4 needs Python 3.10 or later ($venv has $("$python" --version))"
fi
