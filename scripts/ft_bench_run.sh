#!/usr/bin/env bash
# FirstTry benchmark harness: the entry point of the S3 integration guide.
#
#   ./scripts/ft_bench_run.sh --tier lite
#   ./scripts/ft_bench_run.sh --tier pro --regress-pct 15 --upload-s3
#
# Runs `ft-bench run` with all arguments, prints a one-line meaning of the exit code and returns
# that code. In ftbench's own checkout it uses ftbench when importable, else creates .venv with
# the project installed (with boto3 when --upload-s3 is given). Anywhere else (installed by pip
# as `ft_bench_run.sh`, or copied into another repository's scripts/) it uses the installed
# ftbench: the Python next to it, `ft-bench` on PATH, or $FTBENCH_PYTHON / python3.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! grep -qs '^name = "ftbench"' "$here/../pyproject.toml" || [ ! -f "$here/_venv.sh" ]; then
  for py in "$here/python" "$(command -v ft-bench 2>/dev/null | sed 's|/ft-bench$|/python|')" \
            "${FTBENCH_PYTHON:-python3}"; do
    if [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 && "$py" -c 'import ftbench' 2>/dev/null; then
      exec_py="$py"
      break
    fi
  done
  if [ -z "${exec_py:-}" ]; then
    echo "ftbench: error: ftbench is not installed (pip install 'ftbench @ git+<repository URL>', docs/ci.md)" >&2
    exit 5
  fi
fi
if [ -z "${exec_py:-}" ]; then
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

fi
"${exec_py:-$py}" -m ftbench run "$@"
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
