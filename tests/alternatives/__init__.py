"""Valid alternative solutions, the ways real learners and other courses (ARENA, nanoGPT,
minbpe, LLMs-from-scratch, CS336) write each exercise of lessons 01-06.

Each lesson module has ``ALTERNATIVES``: (grade_id, name, source), ``source`` being what a
learner would put in that solution cell. Every one must pass ``check`` and get full marks
from the grader (``tests/test_alternatives.py``). A false failure is a defect of a kind
(a tolerance too tight, an over-strict contract, a parameter-name or dtype assumption),
to be fixed as a kind in the checks, never by dropping the example.
"""
