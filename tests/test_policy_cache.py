"""The validated policy kept on disk between commands (payroll/policy.py, issue 12's suite time and
issue 17's CLI overhead): used only for the same directory, the same file bytes and the same code."""
from __future__ import annotations

import shutil

import pytest
from conftest import SHIPPED_TABLES

from payroll import policy as policy_module


@pytest.fixture()
def tables(tmp_path, monkeypatch):
    monkeypatch.setenv("PAYROLL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(policy_module, "_LOADED", {})          # as a new process
    copy = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, copy)
    return copy


def _reads(monkeypatch) -> list:
    calls = []
    real = policy_module._read_policy
    monkeypatch.setattr(policy_module, "_read_policy", lambda *a: calls.append(a) or real(*a))
    return calls


def test_a_second_process_reads_the_cache_and_gets_the_same_policy(tables, monkeypatch):
    reads = _reads(monkeypatch)
    first = policy_module.load_policy(tables)
    monkeypatch.setattr(policy_module, "_LOADED", {})
    second = policy_module.load_policy(tables)
    assert len(reads) == 1 and second.digest == first.digest and second.warnings == first.warnings
    assert all(second.frames[name].equals(frame) for name, frame in first.frames.items())


def test_an_edited_table_is_read_and_checked_again(tables, monkeypatch):
    reads = _reads(monkeypatch)
    policy_module.load_policy(tables)
    monkeypatch.setattr(policy_module, "_LOADED", {})
    wage = tables / "minimum_wage.csv"
    wage.write_text(wage.read_text(encoding="utf-8").replace(",2490,", ",99999,", 1), encoding="utf-8")
    with pytest.raises(policy_module.InputError, match="above the average wage"):
        policy_module.load_policy(tables)
    assert len(reads) == 2


def test_a_damaged_cache_file_is_ignored_and_off_writes_nothing(tables, monkeypatch, tmp_path):
    policy_module.load_policy(tables)
    (cached,) = (tmp_path / "cache").glob("policy-*.pickle")
    cached.write_bytes(b"not a pickle")
    monkeypatch.setattr(policy_module, "_LOADED", {})
    reads = _reads(monkeypatch)
    assert policy_module.load_policy(tables).digest
    assert len(reads) == 1
    monkeypatch.setenv("PAYROLL_CACHE_DIR", "off")
    monkeypatch.setattr(policy_module, "_LOADED", {})
    shutil.rmtree(tmp_path / "cache")
    policy_module.load_policy(tables)
    assert not (tmp_path / "cache").exists()
