"""``gpt2course gradescope-bundle``: a zip that makes Gradescope's workers run our grader.

Gradescope unpacks the zip in ``/autograder/source``, runs ``setup.sh`` once to build
its image, then ``run_autograder`` for each submission, which must write
``/autograder/results/results.json`` (it always does, even when the grader fails).
``$AUTOGRADER_ROOT`` replaces ``/autograder`` where set (the tests run the script in a
temporary copy of that layout). The zip carries the course package and the
instructor's lessons; the grading seed is baked in so it stays off the learners' side.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import CourseError
from ..i18n import tr

PACKAGE = Path(__file__).resolve().parents[1]

SETUP_SH = """#!/usr/bin/env bash
# Runs once on Gradescope's image: install the course package and its dependencies.
set -euo pipefail
# bubblewrap: the grading sandbox (the grader falls back, with a warning, where the
# container may not create namespaces).
apt-get update -q && apt-get install -y -q python3 python3-pip python3-venv bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet /autograder/source
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Runs for each submission: grade the first notebook handed in, in the sandbox, and write
# results/results.json. AUTOGRADER_ROOT is /autograder on Gradescope (tests use a copy).
# The seed travels in the environment, not on the command line, where any process could
# read it.
set -uo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
results="$root/results/results.json"
mkdir -p "$root/results"
cd "$root/source"
notebook=$(find "$root/submission" -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' \\
           | sort | head -n 1)
if [ -z "$notebook" ]; then
  echo '{"score": 0, "tests": [{"name": "notebook", "score": 0, "max_score": 0,' \\
       '"status": "failed", "visibility": "visible",' \\
       '"output": "No .ipynb file was handed in. Upload your lesson notebook."}]}' \\
       > "$results"
  exit 0
fi
GPT2COURSE_GRADING_SEED={seed} "$root/venv/bin/gpt2course" grade "$notebook" \\
  --lessons "$root/source/lessons" --gradescope "$results"
status=$?
if [ ! -s "$results" ]; then  # the grader itself failed: say so instead of a blank page
  echo '{"score": 0, "tests": [{"name": "notebook", "score": 0, "max_score": 0,' \\
       '"status": "failed", "visibility": "visible",' \\
       '"output": "The autograder could not grade this notebook; ask your instructor."}]}' \\
       > "$results"
fi
echo "gpt2course grade exited with $status"
exit 0
"""


def write_bundle(out: Path, lessons: Path, seed: int) -> list[str]:
    """Write the zip; return the names it holds."""
    out, lessons = Path(out), Path(lessons)
    notebooks = sorted(lessons.glob("*.ipynb"))
    if not notebooks:
        raise CourseError(tr("{folder} holds no lesson notebooks; run `gpt2course assign` "
                             "first.", folder=lessons))
    project = PACKAGE.parent / "pyproject.toml"
    if not project.exists():
        raise CourseError(tr("gradescope-bundle needs the course's source checkout "
                             "(pyproject.toml next to {package}/); run it from there.",
                             package=PACKAGE.name))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        _add_text(z, "setup.sh", SETUP_SH)
        _add_text(z, "run_autograder", RUN_AUTOGRADER.replace("{seed}", str(int(seed))))
        z.write(project, "pyproject.toml")
        for f in sorted(PACKAGE.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
                z.write(f, str(Path("gpt2course") / f.relative_to(PACKAGE)))
        for nb in notebooks:
            z.write(nb, f"lessons/{nb.name}")
        return z.namelist()


def _add_text(z: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o755 << 16  # executable, as Gradescope runs them directly
    z.writestr(info, text)
