"""The private Keras APIs charlstm relies on (charlstm.model.keras_compat) are still there, and a
Keras other than the one they were written for names the shims at risk."""

import os

import keras
import pytest

from charlstm.model import keras_compat
from conftest import ROOT


def pinned_keras():
    with open(os.path.join(ROOT, "requirements.txt")) as handle:
        pins = dict(line.strip().split("==") for line in handle
                    if "==" in line and not line.startswith("#"))
    return pins["keras"]


def test_every_private_api_a_shim_relies_on_is_there():
    missing = keras_compat.missing_private_apis()
    assert missing == [], "Keras no longer has what these shims use: " + ", ".join(
        f"{shim} ({attribute})" for shim, attribute in missing)


def test_the_shims_were_written_for_the_pinned_keras():
    assert keras_compat.WRITTEN_FOR == pinned_keras(), (
        "requirements.txt pins another Keras: check every shim in charlstm/model/keras_compat.py "
        "against it, then set WRITTEN_FOR")


def describe(shim):
    relies_on = ", ".join(f"{owner}.{attribute}" for owner, attribute in shim.relies_on)
    return f"{shim.name} ({relies_on}" + (f"; {shim.issue})" if shim.issue else ")")


def test_another_keras_names_the_shims_at_risk():
    if keras.__version__ != keras_compat.WRITTEN_FOR:
        pytest.fail(f"Keras {keras.__version__} is installed, but charlstm/model/keras_compat.py was "
                    f"written for {keras_compat.WRITTEN_FOR}; at risk: "
                    + "; ".join(describe(shim) for shim in keras_compat.SHIMS))
    assert "keras-team/keras#20585" in describe(keras_compat.SHIMS[1])
