"""The maintainers' tools, run from a checkout and never installed.

``tools.xvfb`` (a private X display for the GUI tests, the labs' Tk checks in
CI, the screenshots and the GUI benchmark), ``python -m tools.screenshots``
(the docs' pictures) and ``python -m tools.typecheck`` (mypy on the packages
as installed).
"""
