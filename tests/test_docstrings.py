"""Every module's docstring example runs as written (examples that need a trained model or
a GPU are marked +SKIP in place)."""

import doctest
import importlib
import pkgutil

import pytest

import charlstm

MODULES = sorted(module.name for module in pkgutil.walk_packages(charlstm.__path__, "charlstm."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert failed == 0
