"""pyproject.toml and the requirements files say the same, and every script exists."""

import importlib
import os
import tomllib

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
