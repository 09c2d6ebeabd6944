# Shared by scripts/*.sh: find a Python >= 3.11 and make sure .venv has ftbench installed.
# Usage: ensure_venv EXTRAS   (e.g. "" or "s3" or "dev,s3"); sets $FTBENCH_PY.

find_python() {
  local candidate
  for candidate in "${FTBENCH_PYTHON:-}" python3.13 python3.12 python3.11 python3 python; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_venv() {
  local extras="$1" root venv stamp want py
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="$root/.venv"
  stamp="$venv/.ftbench-installed"
  py="$(find_python)" || { echo "ftbench: error: Python 3.11 or newer not found (set FTBENCH_PYTHON)" >&2; return 5; }
  # Up to date when installed from this very pyproject.toml and the extras' modules import.
  want="$(cksum < "$root/pyproject.toml")"
  local probe="import ftbench"
  case "$extras" in
    *dev*) probe="$probe, boto3, pytest, hypothesis, jsonschema, duckdb, matplotlib, build" ;;
    *s3*) probe="$probe, boto3" ;;
  esac
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
     "$venv/bin/python" -c "$probe" >/dev/null 2>&1; then
    FTBENCH_PY="$venv/bin/python"
    return 0
  fi
  if [ ! -x "$venv/bin/python" ]; then
    echo "[setup] creating $venv (first run only)" >&2
    # System site packages stay visible, so a `pip install boto3` done beforehand counts
    # (docs/ci.md). Only ftbench and what its extras declare are installed: the core is
    # just rich (no numpy/scipy); "dev" adds the test and lint tools.
    "$py" -m venv --system-site-packages "$venv" || return 5
  fi
  local spec="$root"
  [ -n "$extras" ] && spec="$root[$extras]"
  echo "[setup] installing ftbench${extras:+[$extras]} into $venv" >&2
  mkdir -p "$root/.firsttry"
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q -e "$spec" \
      >"$root/.firsttry/setup.log" 2>&1; then
    echo "ftbench: error: installing ftbench failed (see .firsttry/setup.log)" >&2
    tail -n 5 "$root/.firsttry/setup.log" >&2
    return 5
  fi
  echo "$want" > "$stamp"
  FTBENCH_PY="$venv/bin/python"
}
