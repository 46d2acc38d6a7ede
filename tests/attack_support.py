"""Helpers shared by the grader-attack tests (tests/test_grading_attacks_*.py): cells that
carry one trick, and grading an attacker next to an honest classmate."""

from __future__ import annotations

import os

import pytest
from grading_support import FAST, FULL, LESSONS, ROOT, SEED, make_submission, scores

from gpt2course.grading import jail
from gpt2course.grading.grade import grade_many, load_lessons

ZERO = {k: 0.0 for k in FULL}
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="path hiding needs root")


def unfilled_gelu_with(code: str) -> dict[str, str]:
    """A gelu cell that runs ``code`` and leaves gelu unfilled."""
    return {"04_gelu": code + "\n\ndef gelu(x):\n    raise NotImplementedError()\n"}


def gelu_that(body: str) -> dict[str, str]:
    """A gelu cell whose function runs ``body`` (indented) and returns the right answer."""
    inner = "\n".join("    " + line for line in body.strip().splitlines())
    return {"04_gelu": f"def gelu(x):\n{inner}\n    return 0.5 * x * (1.0 + torch.tanh("
                       "math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))\n"}


def module_that(body: str) -> dict[str, str]:
    """An MLP class (used by no other exercise) whose forward runs ``body`` first."""
    inner = "\n".join("        " + line for line in body.strip().splitlines())
    return {"04_MLP": (
        "class MLP(nn.Module):\n"
        "    def __init__(self, n_embd):\n"
        "        super().__init__()\n"
        "        self.c_fc = nn.Linear(n_embd, 4 * n_embd)\n"
        "        self.c_proj = nn.Linear(4 * n_embd, n_embd)\n\n"
        f"    def forward(self, x):\n{inner}\n"
        "        return self.c_proj(gelu(self.c_fc(x)))\n")}


def check_cells(nb, new_source: str | None):
    for cell in list(nb.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "").endswith("_check"):
            if new_source is None:
                nb.cells.remove(cell)
            else:
                cell.source = new_source


BWRAP = pytest.mark.skipif(not jail.usable()[0], reason="bubblewrap is not usable here: "
                           f"{jail.usable()[1]}")


def honest_and(tmp_path, attack: dict[str, str], *, jobs: int = 2, **batch):
    """Grade an honest classmate and the attacker side by side; return both grades."""
    subs = tmp_path / "subs"
    subs.mkdir(exist_ok=True)
    honest = make_submission(subs / "honest.ipynb")
    attacker = make_submission(subs / "attacker.ipynb", filled=False, **attack)
    rows = grade_many([honest, attacker], load_lessons(LESSONS), seed=SEED, limits=FAST,
                      jobs=jobs, hide=(str(ROOT / "solutions"),), **batch)
    assert scores(rows[0]) == FULL, rows[0]  # the classmate loses nothing
    return rows[0], rows[1]


def reporting(code: str) -> dict[str, str]:
    """A gelu cell that runs ``code`` (which sets ``found``) and fails showing ``found``."""
    return {"04_gelu": f"{code}\n\ndef gelu(x):\n    raise RuntimeError('found: ' + repr(found))\n"}




def in_deleted_folder(pid: str) -> bool:
    """Processes of a finished grading job still sit in its deleted folder; others do not."""
    try:
        return os.readlink(f"/proc/{pid}/cwd").endswith("(deleted)")
    except OSError:
        return False  # already gone
