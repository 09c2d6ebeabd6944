#!/usr/bin/env bash
# Run the whole test suite; installs what it needs into .venv on first use.
#   ./scripts/test.sh            all tests (starts local SeaweedFS/rclone S3 servers itself)
#   ./scripts/test.sh -m "not s3" -x   any pytest arguments
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/_venv.sh
. "$here/_venv.sh"
ensure_venv "dev" || exit $?
cd "$here/.."
exec "$FTBENCH_PY" -m pytest "$@"
