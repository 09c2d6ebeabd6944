#!/usr/bin/env bash
# FirstTry benchmark harness: the entry point of the S3 integration guide.
#
#   ./scripts/ft_bench_run.sh --tier lite
#   ./scripts/ft_bench_run.sh --tier pro --regress-pct 15 --upload-s3
#
# Uses ftbench when it is importable, otherwise creates .venv with the project installed
# (with boto3 when --upload-s3 is given), runs `ft-bench run` with all arguments, prints a
# one-line meaning of the exit code and returns that code.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/_venv.sh
. "$here/_venv.sh"

extras=""
for arg in "$@"; do
  [ "$arg" = "--upload-s3" ] && extras="s3"
done

py=""
if [ -z "$extras" ] || "${FTBENCH_PYTHON:-python3}" -c 'import boto3' >/dev/null 2>&1; then
  for candidate in "$here/../.venv/bin/python" "${FTBENCH_PYTHON:-python3}"; do
    if [ -x "$(command -v "$candidate" 2>/dev/null)" ] &&
       "$candidate" -c 'import ftbench' >/dev/null 2>&1; then
      py="$candidate"
      break
    fi
  done
fi
if [ -z "$py" ]; then
  ensure_venv "$extras" || exit $?
  py="$FTBENCH_PY"
fi

"$py" -m ftbench run "$@"
rc=$?
case $rc in
  0) meaning="success" ;;
  2) meaning="usage error" ;;
  3) meaning="a benchmarked command failed or timed out" ;;
  4) meaning="performance regression detected" ;;
  5) meaning="setup error (configuration, tier or command not found)" ;;
  130) meaning="interrupted" ;;
  *) meaning="unexpected failure" ;;
esac
echo "ft_bench_run: exit $rc ($meaning)" >&2
exit $rc
