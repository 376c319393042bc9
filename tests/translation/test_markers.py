"""The e2e and translation markers land where `make test-fast` relies on them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.settings import PROJECT_ROOT

PATHS = ["tests/translation", "tests/localapi", "tests/e2e/test_translation_relay.py"]

# Collects PATHS in a fresh pytest (this process's collection is already over) and prints each
# test's markers as one JSON object.
_COLLECT = """
import json, sys
import pytest

class Report:
    def pytest_collection_finish(self, session):
        marks = {item.nodeid: sorted({m.name for m in item.iter_markers()}) for item in session.items}
        print("MARKS " + json.dumps(marks))

sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]],
                     plugins=[Report()]))
"""


@pytest.fixture(scope="module")
def marks() -> dict[str, set[str]]:
    """Test id → marker names, as collected by pytest with the project's hooks."""
    done = subprocess.run(
        [sys.executable, "-c", _COLLECT, *PATHS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("MARKS "))
    return {test: set(names) for test, names in json.loads(line[len("MARKS ") :]).items()}


def _fast(marks: dict[str, set[str]]) -> set[str]:
    """The ids `make test-fast` keeps: neither e2e nor translation."""
    return {test for test, names in marks.items() if not names & {"e2e", "translation"}}


def test_fast_selection_leaves_out_e2e_and_model_tests(marks: dict[str, set[str]]) -> None:
    fast = _fast(marks)
    files = {test.split("::")[0] for test in fast}
    assert "tests/localapi/test_ptb_flow.py" not in files
    assert "tests/e2e/test_translation_relay.py" not in files
    assert "tests/translation/test_build_fixture_models.py" not in files
    assert not any("test_arabic_to_english_runs_the_ar_en_model" in t for t in fast)
    # Model-free tests in the same folders stay in the fast run.
    assert "tests/localapi/test_updates.py" in files
    assert any("test_malformed_checksum_argument_is_refused" in t for t in fast)
    assert any("test_detect_language" in t for t in fast)


def test_translation_and_e2e_markers_cover_the_slow_tests(marks: dict[str, set[str]]) -> None:
    translation = {test for test, names in marks.items() if "translation" in names}
    assert any("test_arabic_to_english_runs_the_ar_en_model" in t for t in translation)
    assert any("test_argos_folders_are_inside_the_model_folder" in t for t in translation)
    assert any("read_each_other_through_argostranslate" in t for t in translation)
    assert not any("test_malformed_checksum_argument_is_refused" in t for t in translation)
    e2e_files = {test.split("::")[0] for test, names in marks.items() if "e2e" in names}
    assert e2e_files == {"tests/localapi/test_ptb_flow.py", "tests/e2e/test_translation_relay.py"}
