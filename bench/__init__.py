"""Benchmarks that keep socketlab's design honest (``python -m bench``).

Fan-out, latency under a class load, a client that never reads, encryption
and tracing cost, memory per client, the inspector's speed and the GUI's
responsiveness, each measured against a baseline in the same run and reported
in ``docs/performance.md``. Benchmarks, not tests: nothing here asserts time.
"""
