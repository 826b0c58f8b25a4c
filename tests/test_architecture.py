"""The layering holds at run time: the pure domain modules import no web, database or broker;
and no module under counselor/ grows past 500 lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: the domain modules that must stay plain functions of plain data (STYLE.md, habit 12)
PURE_MODULES = (
    "counselor.questionnaires.answers",
    "counselor.questionnaires.builder",
    "counselor.questionnaires.engine",
    "counselor.questionnaires.fhir",
    "counselor.questionnaires.parsing",
    "counselor.questionnaires.schema",
    "counselor.questionnaires.scoring",
    "counselor.questionnaires.trends",
    "counselor.questionnaires.validation",
    "counselor.questionnaires.values",
    "counselor.reveal.matching",
    "counselor.reveal.views",
    "counselor.agreements.clauses",
    "counselor.agreements.material",
    "counselor.checkins.cadence",
    "counselor.checkins.svg",
    "counselor.reports.data",
    "counselor.reports.pdf",
)
#: what importing a pure module must not load, directly or through a package __init__
FORBIDDEN = ("flask", "sqlalchemy", "flask_sqlalchemy", "celery")

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[2:])))
"""


@pytest.mark.parametrize("module", PURE_MODULES)
def test_importing_a_pure_module_loads_no_flask_sqlalchemy_or_celery(module):
    """A fresh interpreter imports the module alone; none of the web stack comes with it."""
    result = subprocess.run(  # noqa: S603 - our own interpreter on our own module
        [sys.executable, "-c", PROBE, module, *FORBIDDEN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == [], f"importing {module} loaded the web stack"


def test_the_probe_sees_a_web_import():
    """The probe is not blind: a module that pulls in Flask is reported."""
    result = subprocess.run(  # noqa: S603 - our own interpreter on our own module
        [sys.executable, "-c", PROBE, "counselor.extensions", *FORBIDDEN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(result.stdout)
    assert "flask" in loaded and "sqlalchemy" in loaded


#: the most lines a module under counselor/ may have (issue 10): split by responsibility first
MAX_MODULE_LINES = 500


def _too_long(package: Path) -> dict[str, int]:
    """Each .py module under ``package`` over the limit, with its number of lines."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            found[path.relative_to(package.parent).as_posix()] = lines
    return found


def test_no_module_under_counselor_exceeds_500_lines():
    """A module that grows past the limit is named with its size."""
    assert len(list((ROOT / "counselor").rglob("*.py"))) > 50  # looking in the right place
    too_long = _too_long(ROOT / "counselor")
    assert not too_long, f"over {MAX_MODULE_LINES} lines: " + ", ".join(
        f"{name} ({lines} lines)" for name, lines in too_long.items()
    )


def test_the_line_limit_sees_a_long_module(tmp_path):
    """The check is not blind: a planted module of 501 lines is reported, one of 500 is not."""
    package = tmp_path / "counselor" / "feature"
    package.mkdir(parents=True)
    (package / "long.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    (package / "fits.py").write_text("x = 1\n" * MAX_MODULE_LINES)
    assert _too_long(tmp_path / "counselor") == {"counselor/feature/long.py": 501}


#: every module that maps tables: each must name, by import, the modules its relationships point to
MODEL_MODULES = sorted(
    "counselor." + path.parent.name + ".models" for path in (ROOT / "counselor").glob("*/models.py")
)

MAPPER_PROBE = """
import importlib, sys
from sqlalchemy.orm import configure_mappers
importlib.import_module(sys.argv[1])
configure_mappers()
"""


@pytest.mark.parametrize("module", MODEL_MODULES)
def test_a_models_module_imported_alone_configures_its_mappers(module):
    """A process that imports one feature's models (a worker's task module, one test file) can
    use them: a relationship("Agreement") whose class was never imported fails at first query."""
    result = subprocess.run(  # noqa: S603 - our own interpreter on our own module
        [sys.executable, "-c", MAPPER_PROBE, module],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1]
