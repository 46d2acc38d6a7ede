"""``gpt2course doctor`` reports what is there and what to do about what is not."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from gpt2course.doctor import run_doctor


def test_ready_machine_reports_ok_and_exits_0(monkeypatch):
    out = io.StringIO()
    assert run_doctor(out, internet=lambda: False) == 0, out.getvalue()
    text = out.getvalue()
    assert "[  ok   ] GPT-2 vocabulary" in text
    assert "[  ok   ] Tiny Shakespeare" in text
    assert "[ note  ] internet: not reachable" in text
    assert "All set" in text


def test_missing_pieces_say_what_to_do(tmp_path):
    code = (
        "import tiktoken.load, sys\n"
        "def offline(*a, **k): raise ConnectionError('no network')\n"
        "tiktoken.load.read_file = offline\n"
        "from gpt2course import doctor\n"
        "sys.exit(doctor.run_doctor(internet=lambda: False))\n"
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path / "tk"),
           "GPT2COURSE_DATA_DIR": str(tmp_path / "data"),
           "GPT2COURSE_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 1, out.stderr
    assert "[missing] GPT-2 vocabulary" in out.stdout and "TIKTOKEN_CACHE_DIR" in out.stdout
    assert "[missing] Tiny Shakespeare: not cached and no internet" in out.stdout
    assert "GPT2COURSE_DATA_DIR" in out.stdout
    assert "2 thing(s) to fix" in out.stdout
