#!/bin/sh
# The ftbench image's entry point (Dockerfile): ft-bench with the arguments, in the mounted
# repository (/repo). With FTBENCH_INSTALL set, that repository's project is installed first,
# by that shell command, into a virtual environment of its own (FTBENCH_PROJECT_VENV,
# /opt/project: not in the repository, which belongs to the host), and that environment is
# the benchmarked commands' interpreter (VIRTUAL_ENV). Without it, the repository's .venv when
# it runs here, else the image's python; never ftbench's own /opt/ftbench/venv.
set -eu
if [ -n "${FTBENCH_INSTALL:-}" ]; then
  venv="${FTBENCH_PROJECT_VENV:-/opt/project}"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  echo "+ $FTBENCH_INSTALL   (in $venv)" >&2
  if ! VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" sh -ec "$FTBENCH_INSTALL" >&2; then
    echo "ft-bench: error: the install command failed (FTBENCH_INSTALL)" >&2
    exit 5
  fi
  VIRTUAL_ENV="$venv"
  export VIRTUAL_ENV
fi
exec ft-bench "$@"
