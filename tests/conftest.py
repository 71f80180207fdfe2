"""Suite-wide rules: what may skip on a laptop must fail under CI.

Mark a test ``@pytest.mark.needs_root`` (a live capture) or
``@pytest.mark.needs_tool("tshark")``. On a student's laptop a missing
requirement skips the test with the reason; under CI (``CI=true``) the same
test fails instead, so nothing that matters is silently skipped there.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip on a laptop; fail under CI, where every requirement must be met."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_root: needs capture rights (root / CAP_NET_RAW)")
    config.addinivalue_line("markers", "needs_tool(name): needs a program on PATH")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_root") and hasattr(os, "geteuid") and os.geteuid() != 0:
        skip_or_fail("needs capture rights: run as root (sudo) or grant CAP_NET_RAW")
    for marker in item.iter_markers("needs_tool"):
        for tool in marker.args:
            if shutil.which(tool) is None:
                skip_or_fail(f"needs {tool!r} on PATH (apt-get install {tool})")
