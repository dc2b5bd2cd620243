"""pyproject.toml and the requirements files say the same, every script exists, and .gitignore
covers what the README and docs have users make in the project's folder."""

import glob
import importlib
import os
import re
import subprocess
import tomllib

import pytest

from conftest import ROOT


def pins(name):
    with open(os.path.join(ROOT, name)) as handle:
        return sorted(line.strip() for line in handle if line.strip() and line[0] != "#")


def test_pyproject_pins_equal_the_requirements_files():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        project = tomllib.load(handle)["project"]
    assert sorted(project["dependencies"]) == pins("requirements.txt")
    assert project["optional-dependencies"]["plot"] == pins("requirements-plot.txt")
    assert project["optional-dependencies"]["serve"] == pins("requirements-serve.txt")
    for script, target in project["scripts"].items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), script
        command = script.removeprefix("charlstm-") + ".py"
        assert os.path.exists(os.path.join(ROOT, command)), command


def test_ci_runs_the_readme_test_command_in_a_fresh_environment():
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    with open(os.path.join(ROOT, ".ci", "run")) as handle:
        ci = handle.read()
    command = "pip install -r requirements.txt -r requirements-dev.txt && python -m pytest -q"
    assert f"\n{command}\n" in readme
    assert f"\n{command}\n" in ci
    assert "python3 -m venv" in ci and "/bin/activate" in ci


# What the README and docs have users make in the project's folder, beyond the paths their
# commands name (found below): a virtual environment under either usual name, and what
# train.py and plot.py write here by default.
MADE_HERE = (".venv/bin/python", "venv/bin/python", "history.csv", "history-bigger.csv",
             "history.png", "history-bigger.png", "compare.png", "alice.keras.json")


def suggested_outputs():
    """Every output path the README and docs/ suggest: --output, --checkpoint-dir, -m venv
    and checkpoint_dir= values (placeholders such as PATH or DIR left out), and MADE_HERE."""
    paths = set(MADE_HERE)
    for name in ["README.md", *glob.glob(os.path.join(ROOT, "docs", "*.md"))]:
        with open(os.path.join(ROOT, name)) as handle:
            text = handle.read()
        found = re.findall(r"(?:--output|--checkpoint-dir|-m venv) ([\w./-]+)"
                           r"|checkpoint_dir=\"([\w./-]+)\"|export\([^,]+, \"([\w./-]+)\"\)",
                           text)
        paths.update(path for match in found for path in match
                     if path and not path.isupper() and path != ".")
    return sorted(paths)


def test_gitignore_covers_every_output_the_readme_and_docs_suggest():
    if subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("not a git checkout")
    paths = suggested_outputs()
    assert {"runs", "alice-web", "alice.keras", ".venv/bin/python"} <= set(paths)
    for path in paths:
        # Something inside each: a folder's files are what `git add .` would take in.
        inside = path if os.path.splitext(path)[1] else f"{path}/file"
        ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", inside], cwd=ROOT)
        assert ignored.returncode == 0, f"{inside} is not in .gitignore"
    kept = subprocess.run(["git", "check-ignore", "--no-index", "docs/web.png",
                           "charlstm/bundled/alice.hdf5", "bench/results/own_texts.txt"],
                          cwd=ROOT, capture_output=True, text=True)
    assert (kept.returncode, kept.stdout) == (1, "")  # none of the project's own files
