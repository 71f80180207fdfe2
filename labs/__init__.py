"""The labs (``NN-name/`` folders) and their runner, ``socketlab lab …``.

Each lab folder is self-contained: ``README.md`` (what the student reads),
``starter/`` (what the student edits), ``solution/`` (the instructor's
edition, the single source the starter is generated from), ``checks/``
(pytest files, one per concern), ``mutants/`` (classic wrong answers the
checks must catch), ``capture/`` (a reference pcap made from the solution)
and ``lab.toml`` (title, check order, time limits).

The runner's modules: ``catalog`` finds labs and the student's work,
``starters`` makes a starter from a solution, ``checking`` runs the checks in
a child process (``plugin`` reports from inside it, ``harness`` helps check
authors), ``mutants`` applies wrong answers, ``handout`` writes the student's
edition, ``cli`` is the command.
"""
