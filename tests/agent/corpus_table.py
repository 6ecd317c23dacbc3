"""The dialogue corpus's per-language table, printed at the end of every session that ran it,
failed tests or not: it is the figure the corpus exists for.

Each dialogue's test leaves its Result in the test report's user properties, so the table is
built where reports arrive: in the one pytest process, or in pytest-xdist's controller from
every worker's reports. tests/conftest.py registers these hooks (the controller loads only the
top-level conftest).
"""

import pytest

from tests.agent.corpus import LANGUAGES, Result

_results: list[Result] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "corpus_result":
            _results.append(Result(**value))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    results = _results
    if not results:
        return
    terminalreporter.section("dialogue corpus")
    for line in corpus_table(results):
        terminalreporter.write_line(line)


def corpus_table(results: list[Result]) -> list[str]:
    """Per language: dialogues, passed, wrong orders, mean caller turns, repeated questions."""
    header = f"{'language':<9}{'dialogues':>10}{'passed':>16}{'wrong orders':>14}"
    header += f"{'mean turns':>12}{'repeated questions':>20}"
    lines = [header]
    groups = [(lang, [r for r in results if r.language == lang]) for lang in LANGUAGES]
    for name, group in [*groups, ("all", results)]:
        if not group:
            continue
        passed = sum(r.verdict == "passed" for r in group)
        wrong = sum(r.verdict == "wrong" for r in group)
        turns = sum(r.turns for r in group) / len(group)
        repeated = sum(r.repeated for r in group)
        share = f"{passed} ({100 * passed / len(group):.1f}%)"
        lines.append(f"{name:<9}{len(group):>10}{share:>16}{wrong:>14}{turns:>12.1f}{repeated:>20}")
    wrong_ids = [r.dialogue_id for r in results if r.verdict == "wrong"]
    if wrong_ids:
        lines.append("wrong orders: " + ", ".join(wrong_ids))
    return lines
