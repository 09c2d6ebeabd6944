#!/usr/bin/env bash
# The steps of action.yml (install | run | gate), kept out of the YAML so they can be read,
# linted and tested. Inputs arrive as FTBENCH_* variables; outputs go to $GITHUB_OUTPUT.
set -uo pipefail

out() { echo "$1=$2" >>"${GITHUB_OUTPUT:-/dev/null}"; }
meaning() {
  case $1 in
    0) echo "success" ;;
    2) echo "usage error" ;;
    3) echo "a benchmarked command failed or timed out" ;;
    4) echo "performance regression" ;;
    5) echo "setup error" ;;
    130 | 143 | 129) echo "interrupted" ;;
    *) echo "unexpected failure" ;;
  esac
}

install() {
  local py="${FTBENCH_PYTHON:-python3}" venv="${RUNNER_TEMP:-/tmp}/ftbench-venv"
  local spec="$GITHUB_ACTION_PATH"
  [ "${FTBENCH_UPLOAD_S3:-false}" = true ] && spec="$spec[s3]"
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "::error title=ftbench::$py is not Python 3.11 or newer (input: python)"
    return 5
  fi
  "$py" -m venv "$venv" || return 5
  echo "installing ftbench from $GITHUB_ACTION_PATH into $venv"
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q "$spec"; then
    echo "::error title=ftbench::installing ftbench from $GITHUB_ACTION_PATH failed"
    return 5
  fi
  "$venv/bin/ft-bench" --version
  out python "$venv/bin/python"
  out bin "$venv/bin/ft-bench"
}

project() {
  # The project's own environment: .venv in the repository (made when missing), where the
  # install command runs as if activated; ft-bench finds it (the commands' interpreter).
  local py="${FTBENCH_PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv || { echo "::error title=ftbench::cannot make .venv with $py"; return 5; }
  fi
  # untracked, and not the project's files: kept out of git status (the report's dirty flag
  # and fingerprint) without changing a tracked file
  if git rev-parse --git-dir >/dev/null 2>&1; then
    local exclude
    exclude="$(git rev-parse --git-path info/exclude)"
    mkdir -p "$(dirname "$exclude")"
    grep -qx '/.venv/' "$exclude" 2>/dev/null || echo '/.venv/' >>"$exclude"
  fi
  echo "+ $FTBENCH_INSTALL   (in $PWD/.venv)"
  if ! VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH" bash -ec "$FTBENCH_INSTALL"; then
    echo "::error title=ftbench::the install command failed (input: install)"
    return 5
  fi
}

keys() {
  out archive-dir "$PWD/.firsttry/archive"
  # Without S3 the archive is the baseline: actions/cache carries it between runs. Keys are
  # unique per run (a cache key is written once); the newest cache of a prefix is restored.
  # On a pull request the base branch's archive comes first (the judge reads base-branch
  # reports), else the branch's own, then the default branch's.
  if [ "${FTBENCH_CACHE:-true}" != true ] || [ "${FTBENCH_UPLOAD_S3:-false}" = true ]; then
    out cache-key ""
    return 0
  fi
  local prefix="ftbench-archive-${RUNNER_OS:-Linux}-" branch base first second
  branch="${GITHUB_HEAD_REF:-${GITHUB_REF_NAME:-unknown}}"
  base="${GITHUB_BASE_REF:-${FTBENCH_DEFAULT_BRANCH:-main}}"
  if [ -n "${GITHUB_BASE_REF:-}" ]; then first="$base" second="$branch"; else first="$branch" second="$base"; fi
  out cache-key "${prefix}${branch}-${GITHUB_RUN_ID:-0}-${GITHUB_RUN_ATTEMPT:-1}"
  {
    echo "restore-keys<<FTBENCH_EOF"
    echo "${prefix}${first}-"
    [ "$second" != "$first" ] && echo "${prefix}${second}-"
    echo "FTBENCH_EOF"
  } >>"${GITHUB_OUTPUT:-/dev/null}"
}

merge_base() {
  local base="$1" ref
  for ref in "origin/$base" "$base"; do
    git rev-parse -q --verify "$ref^{commit}" >/dev/null 2>&1 && git merge-base HEAD "$ref" 2>/dev/null && return 0
  done
  git fetch --no-tags -q origin "+refs/heads/$base:refs/remotes/origin/$base" 2>/dev/null || return 1
  if [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = true ]; then
    git fetch --no-tags -q --unshallow origin 2>/dev/null || true
  fi
  git merge-base HEAD "origin/$base" 2>/dev/null
}

# bisect: true adds --bisect (and its budget) when this ftbench has it
bisect_args() {
  [ "${FTBENCH_BISECT:-false}" = true ] || return 0
  if ! "$bin" run --help 2>/dev/null | grep -q -- '--bisect'; then
    echo "::notice title=ftbench::this ftbench has no --bisect: the regression is not bisected"
    return 0
  fi
  argv+=(--bisect)
  [ -n "${FTBENCH_BISECT_BUDGET_MIN:-}" ] && argv+=(--bisect-budget-min "$FTBENCH_BISECT_BUDGET_MIN")
  return 0
}

run() {
  local bin="${FTBENCH_BIN:?install step did not run}" dir=".firsttry" ref=""
  local note="${RUNNER_TEMP:-/tmp}/ftbench-comment.md" err="${RUNNER_TEMP:-/tmp}/ftbench-stderr.log"
  rm -f "$dir/bench_proof.json" "$dir/bench_proof.md" "$dir/bench_report.env"
  local argv=(run --progress never)
  [ -n "${FTBENCH_TIER:-}" ] && argv+=(--tier "$FTBENCH_TIER")
  [ -n "${FTBENCH_CMD:-}" ] && argv+=(--cmd "$FTBENCH_CMD")
  [ -n "${FTBENCH_REGRESS_PCT:-}" ] && argv+=(--regress-pct "$FTBENCH_REGRESS_PCT")
  [ "${FTBENCH_UPLOAD_S3:-false}" = true ] && argv+=(--upload-s3)
  case "${FTBENCH_AGAINST:-merge-base}" in
    none | "") ;;
    merge-base)
      if [ -n "${GITHUB_BASE_REF:-}" ]; then
        ref="$(merge_base "$GITHUB_BASE_REF")" ||
          echo "::warning title=ftbench::no merge-base with $GITHUB_BASE_REF (check out with fetch-depth: 0): judged against the archive only"
      fi
      ;;
    *) ref="$FTBENCH_AGAINST" ;;
  esac
  if [ -n "$ref" ]; then
    if "$bin" run --help 2>/dev/null | grep -q -- '--against'; then
      argv+=(--against "$ref")
      bisect_args
    else
      echo "::notice title=ftbench::this ftbench has no --against: judged against the archive only"
    fi
  fi
  local extra=()
  if [ -n "${FTBENCH_ARGS:-}" ]; then  # shell words, split without eval
    mapfile -d '' extra < <("${FTBENCH_PY:-python3}" -c \
      'import os, shlex, sys; sys.stdout.write("".join(a + "\0" for a in shlex.split(os.environ["FTBENCH_ARGS"])))') ||
      { echo "::error title=ftbench::args: not valid shell words"; out exit-code 2; return 0; }
  fi
  echo "+ ft-bench ${argv[*]} ${extra[*]}"
  # stderr shown live and kept for the summary; a pipeline, so tee has finished when it ends
  # (a process substitution's tee could still be writing when the file is read)
  { "$bin" "${argv[@]}" "${extra[@]}" 2>&1 >&3 3>&- | tee "$err" >&2 3>&-; } 3>&1
  local rc=${PIPESTATUS[0]}
  out exit-code "$rc"
  echo "ft-bench: exit $rc ($(meaning "$rc"))"
  if [ -f "$dir/bench_report.env" ] && [ -f "$dir/bench_proof.json" ]; then
    local name value
    while IFS='=' read -r name value; do
      case $name in
        FT_BENCH_VERDICT) out verdict "$value" ;;
        FT_BENCH_COLD_MEDIAN_S) out cold-median-s "$value" ;;
        FT_BENCH_WARM_MEDIAN_S) out warm-median-s "$value" ;;
        FT_BENCH_ARCHIVE_KEY) out archive-key "$value" ;;
      esac
    done <"$dir/bench_report.env"
    out report "$PWD/$dir/bench_proof.json"
    out out-dir "$PWD/$dir"
    out comment "$PWD/$dir/bench_proof.md"
  else
    out verdict "not judged"
    [ -d "$dir" ] && out out-dir "$PWD/$dir"
    # The error lines may quote names from the pull request: they stay in a code block whose
    # fence is longer than any backtick run in them (nothing in a code block is markup).
    local tail_lines fence='```'
    tail_lines="$(tail -n 20 "$err")"
    while [[ $tail_lines == *"$fence"* ]]; do fence="$fence\`"; done
    {
      echo "## ❌ ftbench stopped before writing a report (exit $rc: $(meaning "$rc"))"
      echo
      echo "${fence}text"
      printf '%s\n' "$tail_lines"
      echo "$fence"
    } >"$note"
    cat "$note" >>"${GITHUB_STEP_SUMMARY:-/dev/null}"
    out comment "$note"
  fi
  return 0
}

gate() {
  local rc="${FTBENCH_RC:-}" word fail=""
  if [ -z "$rc" ]; then
    echo "::error title=ftbench::the benchmark step did not run"
    return 1
  fi
  [ "$rc" = 0 ] && return 0
  for word in ${FTBENCH_FAIL_ON//,/ }; do
    case $word in
      never) ;;
      regression) [ "$rc" = 4 ] && fail=1 ;;
      command-failed) [ "$rc" = 3 ] && fail=1 ;;
      error) [ "$rc" != 3 ] && [ "$rc" != 4 ] && fail=1 ;;
      *[!0-9]*)
        echo "::error title=ftbench::fail-on: unknown word '$word' (regression, command-failed, error, numbers, never)"
        return 2
        ;;
      *) [ "$rc" = "$word" ] && fail=1 ;;
    esac
  done
  if [ -n "$fail" ]; then
    echo "::error title=ftbench::exit $rc: $(meaning "$rc") (fail-on: $FTBENCH_FAIL_ON)"
    return 1
  fi
  echo "::notice title=ftbench::exit $rc: $(meaning "$rc"), not failing the job (fail-on: $FTBENCH_FAIL_ON)"
}

case "${1:-}" in
  install) install ;;
  project) project ;;
  keys) keys ;;
  run) run ;;
  gate) gate ;;
  *) echo "usage: action.sh install|project|keys|run|gate" >&2; exit 2 ;;
esac
