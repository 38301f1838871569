"""`python -m dongo demo`: the tour passes on memory:// and fails loudly when a step is wrong."""

import io
import os
import subprocess
import sys
from pathlib import Path

from dongo import demo
from dongo.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_tour_passes_on_memory(memory_ready):
    out = io.StringIO()
    assert demo.run_tour("memory://", out=out) == 0, out.getvalue()
    text = out.getvalue()
    assert "FAILED" not in text
    assert text.rstrip().endswith("steps did what the tour says.")
    assert "ok: jack likes the two queens" in text


def test_a_wrong_step_fails_with_its_reason(memory_ready, monkeypatch):
    monkeypatch.setattr(demo.Person, "start_new_year", classmethod(lambda cls: None))
    out = io.StringIO()
    assert demo.run_tour("memory://", out=out) == 1
    assert "FAILED: step 7: expected start_new_year(): methuselah reached 110 and left" in out.getvalue()


def test_unusable_uri_fails(monkeypatch):
    monkeypatch.delenv("DONGO_URI", raising=False)
    out = io.StringIO()
    assert demo.run_tour("nosuch://", out=out) == 1
    assert "FAILED at step 0: DongoConnectError: no dongo backend for nosuch://" in out.getvalue()


def test_cli_exit_status(memory_ready):
    env = dict(os.environ)
    env.pop("DONGO_URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "dongo", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "dongo", "demo", "--uri", "nosuch://"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode == 1 and "FAILED" in bad.stdout


def test_main_requires_a_command(capsys):
    try:
        main([])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("main([]) should exit with usage")
