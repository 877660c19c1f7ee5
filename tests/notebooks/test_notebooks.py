"""The analyst notebooks run top to bottom on the sample city, in a real Jupyter kernel, and
show what they declare: the figures of their tagged cells and their own closing checks.

Each notebook declares its figures by cell tags (``metadata.tags``); the table below is
what the test requires of each, so that dropping a figure, a tag or the checks fails here.
The last tagged cell, ``checks``, asserts things the notebook computed and prints
``checks passed``.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))

FIGURES = {
    "01-explore-the-city": ["city-map", "rain-chart"],
    "02-flood-scenario": ["max-depth-map", "kpi-series", "buildings-map"],
    "03-traffic-rush-hour": ["counter-fit", "speed-map", "closure-map", "travel-times"],
    "04-crowd-egress": ["density-frames", "exits-chart", "clearance-curve"],
    "05-commander": ["flood-crowd-map", "clearance-compare"],
    "06-ensemble": ["probability-map", "kpi-spread"],
}
"""Notebook -> the tags of the cells that must draw a figure (an ``image/png`` output)."""

CHECKS_TEXT = "checks passed"
_PRIVATE = re.compile(r"^\s*(from|import)\s+(twin|geodata)\.", re.MULTILINE)


def _cells(nb, tag: str) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and tag in c.metadata.get("tags", [])]


def _code(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _read(path: Path):
    nbformat = pytest.importorskip("nbformat")
    return nbformat.read(path, as_version=4)


def test_every_notebook_declares_its_figures():
    names = {p.stem for p in NOTEBOOKS}
    assert names == set(FIGURES), "every notebook has an entry in FIGURES, and only those"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_well_formed(path):
    """Tagged figure cells and a closing ``checks`` cell that asserts; only the public API."""
    nb = _read(path)
    for tag in FIGURES[path.stem]:
        assert len(_cells(nb, tag)) == 1, f"{path.name}: one cell tagged {tag!r}"
    checks = _cells(nb, "checks")
    assert len(checks) == 1 and nb.cells[-1] is checks[0], \
        f"{path.name}: the last cell is the one tagged 'checks'"
    tree = ast.parse("\n".join(line for line in checks[0].source.splitlines()
                               if not line.lstrip().startswith("%")))
    assert sum(isinstance(n, ast.Assert) for n in ast.walk(tree)) >= 3, \
        f"{path.name}: the checks cell asserts what the notebook computed"
    assert CHECKS_TEXT in checks[0].source
    assert "import twin" in _code(nb)
    assert not _PRIVATE.search(_code(nb)), f"{path.name}: notebooks use the public API only"


def test_notebooks_are_committed_without_outputs():
    assert NOTEBOOKS, "notebooks/ holds the analyst walkthroughs"
    for path in NOTEBOOKS:
        nb = _read(path)
        for c in nb.cells:
            if c.cell_type == "code":
                assert not c.get("outputs") and c.get("execution_count") is None, path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_what_it_declares(path, sample_city_path, tmp_path,
                                                  monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    nb = _read(path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))        # the notebooks' runs land here
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()                 # raises CellExecutionError on the first failing cell
    for tag in FIGURES[path.stem]:
        (cell,) = _cells(nb, tag)
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert images, f"{path.name}: cell {tag!r} drew no figure"
    (checks,) = _cells(nb, "checks")
    text = "".join(o.get("text", "") for o in checks.outputs if o.get("output_type") == "stream")
    assert CHECKS_TEXT in text, f"{path.name}: the checks cell did not finish"
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                if o.get("output_type") == "error"]
    repo = path.parents[1]
    assert not list(repo.glob("notebooks/*.zarr")) and not list(repo.glob("*.zarr")), \
        "runs go to a temporary folder, never into the repository"
