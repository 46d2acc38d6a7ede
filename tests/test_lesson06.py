"""Lesson 06 (sampling) as a whole: the solution passes every exercise, the grader, and the
next-token explorer. The mutation suites are in test_lesson06_*.py.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch
from grading_support import make_submission
from lesson06_support import DRAW, FILTERS, ROOT, SAMPLE, verdict

from gpt2course.config import GPT2Config
from gpt2course.exercises import for_lesson
from gpt2course.grading.grade import grade_submission, load_lessons
from gpt2course.grading.sandbox import SandboxLimits
from gpt2course.model import GPT2
from gpt2course.sampling import next_token_probs
from gpt2course.vocab import ENDOFTEXT_ID, gpt2_encoding

submission = partial(make_submission, lesson="06_sampling")  # this lesson, solved


@pytest.mark.parametrize("exercise", for_lesson("06"), ids=lambda e: e.id)
@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_solution_passes_public_and_hidden_cases(exercise, seed):
    result = verdict(exercise.function, seed)
    assert result.passed, result.message


# --- the grader ---------------------------------------------------------------------------

FAST = SandboxLimits(notebook_s=120, exercise_s=40)
FULL = {e.id: float(e.points) for e in for_lesson("06")}


@pytest.mark.slow
def test_grader_scores_lesson06(tmp_path):
    lessons = load_lessons(ROOT / "lessons")
    good = grade_submission(submission(tmp_path / "a.ipynb"), lessons, seed=7, limits=FAST,
                            hide=(str(ROOT / "solutions"),))
    assert good.error is None and {e.id: e.score for e in good.exercises} == FULL, good
    no_temperature = SAMPLE + FILTERS + "    probs = torch.softmax(logits, -1)\n" + DRAW
    cheat = ("def temperature_probs(logits, temperature):\n"
             "    from gpt2course.sampling import next_token_probs\n"
             "    return next_token_probs(logits, temperature=temperature)\n")
    bad = grade_submission(
        submission(tmp_path / "b.ipynb", **{"06_sample_token": no_temperature,
                                             "06_temperature_probs": cheat}),
        lessons, seed=7, limits=FAST, hide=(str(ROOT / "solutions"),))
    # Loading the course's reference is forbidden in every exercise (README, "Forbidden
    # operations"): each solution cell runs before every exercise, so the cheat costs all.
    scores = {e.id: e.score for e in bad.exercises}
    assert scores == dict.fromkeys(FULL, 0.0), bad
    messages = {e.id: e.message for e in bad.exercises}
    assert all("gpt2course.sampling" in message for message in messages.values()), messages
    wrong = submission(tmp_path / "c.ipynb", **{"06_sample_token": no_temperature})
    honest = grade_submission(wrong, lessons, seed=7, limits=FAST, hide=(str(ROOT / "solutions"),))
    assert {e.id: e.score for e in honest.exercises} == {**FULL, "06.sample_token": 0.0}, honest
    assert "the temperature is not used" in {e.id: e.message for e in honest.exercises}[
        "06.sample_token"]


# --- the explorer -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=16)
    return GPT2(config).eval()


@pytest.fixture(scope="module")
def enc():
    return gpt2_encoding()


@pytest.mark.parametrize("temperature, top_k, top_p", [
    (1.0, None, None), (0.5, 5, None), (2.0, None, 0.3), (0.8, 3, 0.9), (1.0, 0, 1.0),
])
def test_explorer_shows_the_ten_best_with_next_token_probs(small_model, enc, temperature,
                                                           top_k, top_p):
    from gpt2course.viz.explorer import explorer_state, settings

    shown = explorer_state(small_model, enc, "Hello world", temperature, top_k, top_p)
    ids = torch.tensor([enc.encode("Hello world")])
    with torch.no_grad():
        last = small_model(ids)[0][:, -1, :]
    t, k, p = settings(temperature, top_k, top_p)
    probs = next_token_probs(last, temperature=t, top_k=k, top_p=p)[0]
    assert [c.token_id for c in shown] == torch.topk(last[0], 10).indices.tolist()
    for cand in shown:
        assert cand.prob == pytest.approx(float(probs[cand.token_id]), abs=1e-6)
        assert cand.text == enc.decode([cand.token_id])
    if k:
        assert sum(c.prob > 0 for c in shown) == k


def test_explorer_starts_from_endoftext_and_cuts_long_prompts(small_model, enc):
    from gpt2course.viz.explorer import context_ids

    assert context_ids(enc, "", 16) == [ENDOFTEXT_ID]
    long = " one two" * 20
    assert context_ids(enc, long, 16) == enc.encode(long)[-16:]
    assert context_ids(enc, "a<|endoftext|>", 16)[-1] == ENDOFTEXT_ID


def test_explorer_rejects_a_bad_temperature(small_model, enc):
    from gpt2course.errors import InputError
    from gpt2course.viz.explorer import explorer_state

    with pytest.raises(InputError, match="temperature must be > 0"):
        explorer_state(small_model, enc, "Hi", temperature=0)


def test_explorer_widget_click_appends_and_sliders_update(small_model, enc):
    from gpt2course.viz.explorer import NextTokenExplorer, next_token_explorer, visible

    explorer = NextTokenExplorer(small_model, enc, "Hello")
    first = explorer.candidates[0]
    assert explorer.buttons[0].description == visible(first.text)
    assert {c.description for c in (explorer.temperature, explorer.top_k, explorer.top_p)} == {
        "temperature", "top-k", "top-p"}
    explorer.buttons[0].click()
    assert explorer.prompt.value == "Hello" + first.text
    explorer.top_k.value = 2
    assert [label.value != "0.0%" for label in explorer.labels] == [True, True] + [False] * 8
    assert sum(bar.value for bar in explorer.bars) == pytest.approx(1.0, abs=1e-5)
    before, allowed = explorer.prompt.value, [c.token_id for c in explorer.candidates[:2]]
    token = explorer.draw()  # top-k = 2: only the two best can come out
    assert token in allowed and explorer.prompt.value == before + enc.decode([token])
    box = next_token_explorer(small_model, enc, "Hi")
    assert box.explorer.prompt.value == "Hi" and "gpt2course-explorer" in box._dom_classes
