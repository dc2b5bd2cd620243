"""The package's shape, as docs/decisions.md promises it: every class at module level (so
tracebacks, reprs and editors see its name), and every function short enough to read on a
screen."""

import ast
import glob
import os

from conftest import ROOT

LONGEST_FUNCTION = 80  # lines, docstring and comments included


def package_trees():
    for path in sorted(glob.glob(os.path.join(ROOT, "charlstm", "**", "*.py"), recursive=True)):
        with open(path, encoding="utf-8") as handle:
            yield os.path.relpath(path, ROOT), ast.parse(handle.read())


def functions(tree):
    return [node for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_class_is_defined_inside_a_function():
    nested = [f"{name}: {function.name} defines {inner.name}"
              for name, tree in package_trees() for function in functions(tree)
              for inner in ast.walk(function) if isinstance(inner, ast.ClassDef)]
    assert nested == []


def test_every_function_fits_on_a_screen():
    long = [f"{name}: {function.name} is {function.end_lineno - function.lineno + 1} lines"
            for name, tree in package_trees() for function in functions(tree)
            if function.end_lineno - function.lineno + 1 > LONGEST_FUNCTION]
    assert long == []
