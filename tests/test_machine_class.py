"""Issue 19: one definition of the machine class, read alike by the judge's comparability
check, the calibration file's key, the index's machine column and the pipeline."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from factory import make_report
from ftbench.archive.index_rows import run_rows
from ftbench.judge.comparable import differences
from ftbench.measure import machine
from ftbench.measure.config import Step, Target
from ftbench.measure.machine import MachineClass
from ftbench.report.model import Report

CHANGED = {"cpu_model": "Other CPU", "cpu_count": 64, "os": "Darwin", "arch": "arm64"}


def _with(report: Report, **changes: Any) -> Report:
    return dataclasses.replace(
        report, environment=dataclasses.replace(report.environment, **changes)
    )


def _readers(report: Report, baseline: Report) -> tuple[list[str], str, str]:
    return (
        differences(report, baseline),
        MachineClass.of(report.environment).key,
        run_rows("k", report)[0]["machine"],
    )


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_every_reader_follows_a_change_of_one_field(name: str) -> None:
    base = make_report([1.0, 1.1, 1.2])
    other = _with(base, **{name: CHANGED[name]})
    same, key, machine = _readers(base, base)
    found, other_key, other_machine = _readers(other, base)
    assert same == [] and [d.split(":")[0] for d in found] == [name]
    assert other_key != key and other_machine != machine


def test_what_is_not_in_the_class_changes_no_reader() -> None:
    base = make_report([1.0, 1.1, 1.2])
    other = _with(base, memory_bytes=1, cpu_count_logical=99, kernel="other")
    assert _readers(other, base) == ([], *_readers(base, base)[1:])


def test_the_machine_read_and_a_report_give_the_same_class(tmp_path: Path) -> None:
    """The pipeline reads the class from the machine it read (``machine.read``), the judge
    and the index from a stored report's environment: one value either way; the key of 0.3's
    stored calibration files."""
    facts = machine.read(tmp_path, Target("cmd", "cmd", (Step("t", ("true",)),), "--cmd"), "")
    report = make_report([1.0])
    typed = _with(report, **{k: getattr(facts.environment, k) for k in CHANGED}).environment
    assert facts.klass == MachineClass.of(typed)
    legacy = {k: getattr(facts.environment, k) for k in ("cpu_model", "cpu_count", "os", "arch")}
    digest = hashlib.sha256(json.dumps(legacy, sort_keys=True).encode()).hexdigest()[:12]
    assert facts.klass.key == digest
