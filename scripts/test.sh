#!/usr/bin/env bash
# The test command: installs and starts what the tests need (scripts/test-setup.sh), then
# runs every test. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-setup.sh
cargo test "$@"
