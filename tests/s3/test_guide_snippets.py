"""The user guide's Python snippets, run verbatim from a repository root against real servers.

The snippets are stored in ``tests/s3/guide/`` exactly as the guide prints them (a test checks
that they still match the guide when it is available). Only the Advanced Usage snippet is
changed: its four hard-coded connection literals are pointed at the test server (as printed it
would contact ``your-endpoint.com``), and its placeholder ``report_data`` (``# ... full
report ...``) is filled with a full report, since reports are checked before upload.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ftbench.archive.manager import S3ArchiveManager
from ftbench.archive.s3config import S3Config
from s3.s3util import make_report, s3_env_for
from s3.servers import S3Server

pytestmark = pytest.mark.s3

REPO = Path(__file__).resolve().parents[2]
GUIDE_DIR = Path(__file__).parent / "guide"
GUIDE_NAME = "shared/seed/S3_INTEGRATION_GUIDE.md"


def _origin() -> list[Path]:
    """The folder of the repository this one was cloned from, when that is a local path (a
    fresh clone of a working copy, as .ci/run is checked)."""
    proc = subprocess.run(
        ["git", "-C", str(REPO), "remote", "get-url", "origin"],
        capture_output=True,
        text=True,
        check=False,
    )
    url = proc.stdout.strip().removeprefix("file://")
    return [Path(url)] if proc.returncode == 0 and url.startswith("/") else []


def find_guide() -> Path | None:
    """The user guide: ``FTBENCH_S3_GUIDE``, else ``shared/seed/`` beside this repository or
    any folder above it, or beside the repository it was cloned from."""
    if "FTBENCH_S3_GUIDE" in os.environ:
        return Path(os.environ["FTBENCH_S3_GUIDE"])
    for top in (REPO, *_origin()):
        for folder in top.parents:
            if (folder / GUIDE_NAME).is_file():
                return folder / GUIDE_NAME
    return None


SNIPPETS = ["basic_usage.py.txt", "advanced_usage.py.txt", "trend_analysis.py.txt"]


def snippet(name: str) -> str:
    return (GUIDE_DIR / name).read_text(encoding="utf-8")


def run_snippet(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -`` in ``cwd`` (so the current directory is on sys.path, as in the guide);
    ``tools`` is found through PYTHONPATH=<repo> when ``cwd`` is another repository root."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("S3_", "AWS_", "FTBENCH_"))
    }
    full_env.update(
        {
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONPATH": str(REPO),
        }
    )
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-"],
        input=code,
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_stored_snippets_match_the_guide() -> None:
    guide = find_guide()
    if guide is None or not guide.is_file():  # loudly: a skip here hid a drifted copy
        pytest.fail(f"the user guide ({GUIDE_NAME}) is not reachable: set FTBENCH_S3_GUIDE")
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(encoding="utf-8"), re.S)
    assert blocks == [snippet(n) for n in SNIPPETS]


def test_tools_import_from_repo_root() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tools.ft_bench_s3 import S3ArchiveManager, S3Config; "
            "import sys; print(S3ArchiveManager.__module__, 'boto3' in sys.modules)",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ftbench.archive.manager", "False"]


def test_basic_usage(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    env = s3_env_for(s3_server, bucket)
    report = make_report(11)
    (tmp_path / ".firsttry").mkdir()
    (tmp_path / ".firsttry/bench_proof.json").write_text(report.to_json())
    proc = run_snippet(snippet("basic_usage.py.txt"), tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    m = re.fullmatch(r"Uploaded to: (\S+)\n", proc.stdout)
    assert m, proc.stdout
    url = m.group(1)
    assert url.startswith(f"{s3_server.endpoint}/{bucket}/benchmarks/")
    manager = S3ArchiveManager(S3Config.from_env(env))
    keys = manager.list_reports("/workspaces/Firstry", max_keys=10)
    assert len(keys) == 1 and url.endswith(keys[0].replace(":", "%3A"))
    assert manager.store.get(keys[0]) == report.archive_bytes()
    assert s3_server.secret_key not in proc.stdout + proc.stderr


def test_advanced_usage(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    code = snippet("advanced_usage.py.txt")
    replacements = {
        '"your-key"': s3_server.access_key,
        '"your-secret"': s3_server.secret_key,
        '"https://your-endpoint.com"': s3_server.endpoint,
        '"my-bucket"': bucket,
    }
    for literal, value in replacements.items():
        assert code.count(literal) == 1
        code = code.replace(literal, json.dumps(value))
    placeholder = (
        'report_data = {\n    "schema": 1,\n    "timestamp": "2025-11-07T05:24:05Z",\n'
        "    # ... full report ...\n}\n"
    )
    assert code.count(placeholder) == 1
    code = code.replace(placeholder, f"report_data = {make_report(1).to_dict()!r}\n")
    proc = run_snippet(code, tmp_path, {})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, proc.stdout
    assert re.fullmatch(
        r"Found: benchmarks/prod/[0-9a-f]{8}/2025-11-07T05:24:05Z-benchmark-"
        r"[0-9a-f]{12}\.json",
        lines[0],
    )
    assert lines[1] == "Report: 2025-11-07T05:24:05Z"
    assert s3_server.secret_key not in proc.stdout + proc.stderr


def test_trend_analysis(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    env = s3_env_for(s3_server, bucket)
    manager = S3ArchiveManager(S3Config.from_env(env))
    for i in range(12):  # 12 reports; the script reads the latest 10
        report = make_report(i, timestamp=f"2025-11-{i + 1:02d}T10:00:00Z", warm=[2.0 + i] * 3)
        assert report.runs.warm is not None and report.runs.warm.elapsed_s == 2.0 + i
        assert manager.upload_benchmark_report(report.to_dict(), "/workspaces/Firstry").success
    proc = run_snippet(snippet("trend_analysis.py.txt"), tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    timed = [ln for ln in lines if re.match(r"benchmarks/.*: \d+\.\d\ds$", ln)]
    assert [ln.rsplit(": ", 1)[1] for ln in timed] == [f"{2.0 + i:.2f}s" for i in range(2, 12)]
    assert "Trend: 📈 Getting slower" in lines
    assert "Average: 8.50s" in lines and "Current: 13.00s" in lines
