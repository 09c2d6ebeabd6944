#!/usr/bin/env bash
# Run the whole test suite; installs what it needs into .venv on first use.
#   ./scripts/test.sh            all tests (starts a local SeaweedFS S3 server itself)
#   ./scripts/test.sh -m "not s3" -x   any pytest arguments
#   FTBENCH_S3_SERVERS=rclone ./scripts/test.sh -m s3    the S3 tests on rclone serve s3
#   FTBENCH_S3_SERVERS=all ./scripts/test.sh -m s3       ... on both servers
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/_venv.sh
. "$here/_venv.sh"
ensure_venv "dev" || exit $?
cd "$here/.."
exec "$FTBENCH_PY" -m pytest "$@"
