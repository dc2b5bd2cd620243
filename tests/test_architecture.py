"""The package's rooms and their order (docs/architecture.md): a module imports only from its
own layer or a lower one, so the lower rooms can be read, tested and reused without the
higher ones. A lower package that imports a higher one fails here, with the import named."""

import ast
import glob
import os

import pytest

from conftest import ROOT

# Lowest first. A name is a subpackage of charlstm or a module at its root; each row may
# import from itself and from the rows above it, never from a row below.
LAYERS = (
    ("errors", "logs"),  # what every layer says: UserError and the log lines
    ("system",),  # the backend, devices, files, signals
    ("text",),  # files to characters to windows
    ("model",),  # topology, cells, the Keras model, the optimizer
    ("presets", "settings", "config"),  # every setting and option, declared once
    ("checkpoints",),  # the .hdf5 file, its metadata, the run folder
    ("generation",),  # decoders, sampling, generation, evaluation
    ("training",),  # the run, its callbacks and checks
    ("serving",),  # the engine, the HTTP server, the page
    ("exporting",),  # Keras files, SavedModels, the web folder
    ("api",),  # charlstm.train, generate, ...: the Python API
    ("cli",),  # the commands' flags and exit codes
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def room(dotted):
    """charlstm.text.corpus -> text; charlstm.config -> config; charlstm -> None."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else None


def imports_of(path, source=None):
    """(line, imported charlstm module) for every import in the file at path, relative
    imports resolved against the file's package."""
    package = os.path.relpath(path, ROOT)[:-3].split(os.sep)[:-1]  # __init__ too: its folder
    tree = ast.parse(source if source is not None else open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            names = [target] if node.module else [f"{target}.{alias.name}" for alias in node.names]
            yield from ((node.lineno, name) for name in names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("charlstm"):
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names
                        if alias.name.startswith("charlstm"))


def upward_imports(path, source=None):
    """The imports in a package file that run up the layers, as readable lines."""
    here = room(os.path.relpath(path, ROOT)[:-3].replace(os.sep, "."))
    found = []
    for line, target in imports_of(path, source):
        there = room(target)
        if here in RANK and there in RANK and RANK[there] > RANK[here]:
            found.append(f"{os.path.relpath(path, ROOT)}:{line} ({here}) imports {target} "
                         f"({there}, a higher layer)")
    return found


def package_files():
    return sorted(glob.glob(os.path.join(ROOT, "charlstm", "**", "*.py"), recursive=True))


def test_every_room_of_the_package_has_its_place_in_the_order():
    rooms = {room(os.path.relpath(path, ROOT)[:-3].replace(os.sep, "."))
             for path in package_files()} - {"__init__"}
    assert rooms == set(RANK)


def test_no_import_runs_up_the_layers():
    assert [line for path in package_files() for line in upward_imports(path)] == []


@pytest.mark.parametrize("lower, higher, statement", [
    ("text/windows.py", "training", "from ..training.run import train"),
    ("checkpoints/format.py", "generation", "from ..generation import sampling"),
    ("errors.py", "config", "from .config import SETTINGS"),
    ("model/topology.py", "api", "import charlstm.api"),
])
def test_an_import_that_runs_up_fails_the_check(lower, higher, statement):
    """The check above would catch it: the same file with one more import, run upward."""
    path = os.path.join(ROOT, "charlstm", *lower.split("/"))
    source = open(path, encoding="utf-8").read() + f"\n{statement}\n"
    (found,) = upward_imports(path, source)
    assert f"({higher}, a higher layer)" in found and lower in found
