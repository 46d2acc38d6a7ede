"""Grading: ``assign`` lessons from solutions, run learners' code in a sandbox, report grades."""
