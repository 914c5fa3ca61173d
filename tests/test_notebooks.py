"""The analysts' notebooks run top to bottom on a fresh machine (nbclient, the project's own kernel); a broken
notebook fails the suite. Each must draw its figures and print its readings without errors."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import shared_path
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run_notebook(name: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    # jupyter_client starts the "python3" kernel with this interpreter (sys.executable), i.e. the project's venv.
    resources = {"metadata": {"path": str(NOTEBOOKS)}}
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources=resources)
    return client.execute()


def outputs(notebook: nbformat.NotebookNode) -> tuple[int, str]:
    figures, text = 0, []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"{output.get('ename')}: {output.get('evalue')}"
            data = output.get("data", {})
            figures += "application/vnd.plotly.v1+json" in data
            text.append(output.get("text", "") + data.get("text/plain", ""))
    return figures, "\n".join(text)


@pytest.mark.parametrize(
    ("name", "figures_expected"), [("what_if_staffing.ipynb", 4), ("what_if_roster.ipynb", 1)]
)
def test_what_if_notebooks_run(name: str, figures_expected: int) -> None:
    figures, text = outputs(run_notebook(name))
    assert figures >= figures_expected
    assert "Reading:" in text


def test_forecast_accuracy_notebook_runs_on_the_bank_data() -> None:
    shared_path("data", "anonymous_bank_1999", "calls_6min.csv")
    figures, text = outputs(run_notebook("forecast_accuracy.ipynb"))
    assert figures >= 2 and "Reading:" in text
