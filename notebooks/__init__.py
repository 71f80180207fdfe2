"""socketlab's notebooks: jupytext sources (``NN-topic.py``) and the tool that runs them.

The ``.py`` files are the notebooks (jupytext's percent format: they diff as
code). ``python -m notebooks.execute`` turns each into an executed ``.ipynb``
under ``build/notebooks/``, which the test suite checks and the docs render.
"""
