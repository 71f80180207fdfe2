"""Checks that cannot lie: every lab's checks pass on its solution, fail on its
starter, and catch each of its mutants with the check that names the mistake
(and the first ✗ a student sees names it too); the committed starter is the one
made from the solution."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from socketlab.labs.catalog import Lab, all_labs
from socketlab.labs.checking import CheckResult, CheckRun, run_checks
from socketlab.labs.mutants import Mutant, load_mutants
from socketlab.labs.starters import differences, make_starter
from tools.lab_stress import burners

LABS = all_labs()
HANGUL = re.compile("[\uac00-\ud7a3]")
MUTANTS = [(lab, mutant) for lab in LABS for mutant in load_mutants(lab)]


def _failures(run) -> str:
    return "\n".join(f"{r.outcome}: {r.id}: {r.message}" for r in run.results
                     if r.outcome != "passed") or (run.problem or run.output[-2000:])


@pytest.fixture(scope="module")
def busy_machine() -> Iterator[None]:
    """Two CPU-burning processes: the solutions are checked on a busy machine, as
    ``python -m tools.lab_stress`` does (a short version of it: one run per lab)."""
    with burners(2):
        yield


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_solution_passes_every_check(lab: Lab, needs_display: None, busy_machine: None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # In Korean: a check that reads a program's English output (lab 04 runs the kit's
    # terminal client) must not fail a Korean student's correct code. The mutants below,
    # and python -m tools.lab_stress, run in English.
    monkeypatch.setenv("SOCKETLAB_LANG", "ko")
    run = run_checks(lab, lab.solution, stop_first=False)
    assert run.ok and run.passed == run.collected > 0, _failures(run)


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_starter_fails_every_students_check(lab: Lab, needs_display: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # In Korean: a student who switched sees every sentence and every hint in Korean.
    monkeypatch.setenv("SOCKETLAB_LANG", "ko")
    run = run_checks(lab, lab.starter, stop_first=False)
    assert run.collected == len(run.results) > 0, run.problem or run.output[-2000:]
    passing = [r.id for r in run.results if r.outcome == "passed" and not r.given]
    assert not passing, f"these checks pass on the pristine starter: {passing}"
    english = [f"{r.sentence} / {r.message}" for r in run.results
               if not HANGUL.search(r.sentence) or (r.outcome != "passed"
                                                    and not HANGUL.search(r.message))]
    assert not english, "shown in English under SOCKETLAB_LANG=ko:\n" + "\n".join(english)


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_committed_starter_is_made_from_the_solution(lab: Lab, tmp_path: Path) -> None:
    make_starter(lab, tmp_path / "starter")
    changed = differences(tmp_path / "starter", lab.starter)
    assert not changed, (f"starter/ differs from what the solution makes: {changed}; "
                         f"run 'socketlab lab make-starter {lab.number}'")


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_lab_has_at_least_two_mutants(lab: Lab) -> None:
    assert len(load_mutants(lab)) >= 2


@dataclass(frozen=True)
class MutantRuns:
    """What a mutant's checks said: ``first`` is the default run, stopping at the first ✗ as
    a student's does; ``named`` is the run of the check named for the mutant (the same run
    when that check was the first ✗, so most mutants cost one run)."""

    first: CheckRun
    named: CheckRun


def _first_failure(run: CheckRun) -> CheckResult | None:
    return next((r for r in run.results if r.outcome in ("failed", "hung")), None)


def _is_named(result: CheckResult | None, mutant: Mutant) -> bool:
    """``result`` is the check named for ``mutant`` (its file and name: two files may hold
    checks of the same name)."""
    return result is not None and f"{result.file}::{result.name}" == mutant.caught_by


@pytest.fixture(scope="session")
def mutant_runs() -> Iterator[Callable[[Lab], dict[str, MutantRuns]]]:
    """``runs(lab)``: each of ``lab``'s mutants run as a student would run it, and, if
    another check failed first, run again with only the check that must catch it.

    One lab's mutants run at once, the first time one of its tests asks (so
    ``-k 02`` runs lab 02's only, and no single test waits for every lab's).
    A mutant is mostly caught by waiting for bytes that never come, so the
    runs overlap well even on two cores.
    """
    done: dict[str, dict[str, MutantRuns]] = {}
    with tempfile.TemporaryDirectory(prefix="socketlab-mutants-") as tmp:
        def runs(lab: Lab) -> dict[str, MutantRuns]:
            if lab.number not in done:
                def run(mutant: Mutant) -> MutantRuns:
                    wrong = mutant.apply(lab, Path(tmp) / lab.number / mutant.name)
                    first = run_checks(lab, wrong)
                    if _is_named(_first_failure(first), mutant):
                        return MutantRuns(first, first)
                    return MutantRuns(first, run_checks(lab, wrong, stop_first=False,
                                                        keyword=mutant.caught_by.split("::")[1]))

                mutants = load_mutants(lab)
                with ThreadPoolExecutor(max_workers=4) as pool:
                    done[lab.number] = dict(zip([m.name for m in mutants],
                                                pool.map(run, mutants), strict=True))
            return done[lab.number]

        yield runs


@pytest.mark.parametrize(("lab", "mutant"), MUTANTS,
                         ids=[f"{lab.number}-{mutant.name}" for lab, mutant in MUTANTS])
@pytest.mark.timeout(600)  # the first test of a lab runs all of that lab's mutants
def test_mutant_is_caught_by_its_check(
    lab: Lab, mutant: Mutant, needs_display: None,
    mutant_runs: Callable[[Lab], dict[str, MutantRuns]],
) -> None:
    run = mutant_runs(lab)[mutant.name].named
    assert run.outcome_of(mutant.caught_by) in ("failed", "hung"), (
        f"{mutant.mistake!r} slipped through {mutant.caught_by}: {_failures(run)}")
    caught = next(r for r in run.results if _is_named(r, mutant))
    assert caught.message, "a caught mistake must come with a hint for the student"
    assert mutant.says in caught.message, (
        f"the hint does not name the mistake ({mutant.says!r}): {caught.message}")


@pytest.mark.parametrize(("lab", "mutant"), MUTANTS,
                         ids=[f"{lab.number}-{mutant.name}" for lab, mutant in MUTANTS])
@pytest.mark.timeout(600)
def test_first_failure_names_the_mistake(
    lab: Lab, mutant: Mutant, needs_display: None,
    mutant_runs: Callable[[Lab], dict[str, MutantRuns]],
) -> None:
    """The first ✗ is the only hint most students read: it is the check named for the
    mistake, or its hint names the mistake (the mutant's ``says``)."""
    run = mutant_runs(lab)[mutant.name].first
    first = _first_failure(run)
    assert first is not None, (
        f"{mutant.mistake!r}: a default run showed no ✗ at all: {_failures(run)}")
    assert _is_named(first, mutant) or (mutant.says and mutant.says in first.message), (
        f"{mutant.mistake!r}: the first ✗ a student sees is {first.file}::{first.name}, not "
        f"{mutant.caught_by}, and its hint does not say {mutant.says!r}: {first.message}")
