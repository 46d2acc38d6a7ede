"""Pictures for the lessons (matplotlib and ipywidgets), one module per kind of picture.

Imported by the notebooks only: nothing in the reference model or the grader needs them.
"""
