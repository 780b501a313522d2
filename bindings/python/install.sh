#!/usr/bin/env bash
# Builds the Python bindings' wheels (this package and the kitchen-sink
# fixture's) with maturin and installs them, with the test tools, into a venv
# at target/python-venv (made if missing). Needs only python3 and cargo.
#
#   bindings/python/install.sh          # then: bindings/python/test.sh
#
# PYTHON picks another interpreter and PYTHON_VENV another venv, e.g. the
# oldest Python the abi3 wheel is for:
#   PYTHON=python3.9 PYTHON_VENV=target/python-venv-3.9 bindings/python/install.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${PYTHON_VENV:-target/python-venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
elif [[ -n "${PYTHON:-}" ]]; then
  version='import sys; print("%d.%d" % sys.version_info[:2])'
  want=$("$PYTHON" -c "$version") have=$("$venv/bin/python" -c "$version")
  if [[ "$want" != "$have" ]]; then
    echo "$venv is Python $have, not $want ($PYTHON): remove it, or set PYTHON_VENV to another" >&2
    exit 1
  fi
fi
# pubnub: PubNub's official SDK, which the seed-sample tests compare with (and the benchmark).
# Python 3.9 takes the last pytest releases for it, and no mypy (stubtest runs on 3.10+).
"$venv/bin/pip" install --quiet "maturin==1.16.0" "pubnub==10.8.0" \
  "pytest==9.2.0; python_version >= '3.10'" "pytest==8.4.2; python_version < '3.10'" \
  "pytest-asyncio==1.5.0; python_version >= '3.10'" "pytest-asyncio==1.2.0; python_version < '3.10'" \
  "mypy==2.4.1; python_version >= '3.10'"
rm -f target/wheels/pubnub_presence-*.whl target/wheels/kitchen_sink_fixture-*.whl
for manifest in bindings/python/Cargo.toml codegen/fixtures/kitchen_sink/bindings/python/Cargo.toml; do
  "$venv/bin/maturin" build --release --quiet -m "$manifest" -o target/wheels
done
"$venv/bin/pip" install --quiet --force-reinstall --no-deps target/wheels/pubnub_presence-*.whl \
  target/wheels/kitchen_sink_fixture-*.whl
echo "installed into $venv: $(cd target/wheels && ls pubnub_presence-*.whl kitchen_sink_fixture-*.whl | tr '\n' ' ')"
