"""Any Keras backend: train.py (also with every training control, --cell gru on an embedding,
and a --minutes cosine whose plan is made mid-epoch), --resume, generate.py (window and
stateful) and evaluate.py under KERAS_BACKEND=jax and torch (tests/backend_client.py runs them
in one process each: the backend is chosen when Keras is imported), and the checkpoint a backend wrote gives the same
text and loss under TensorFlow here. JAX is in requirements-dev.txt; PyTorch is tested where
it is installed and skipped elsewhere."""

import importlib.util
import json
import os

import pytest

import charlstm
from conftest import ROOT, run_command

pytestmark = pytest.mark.slow  # the whole module: see pytest.ini


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_commands_run_on_another_backend(backend, tiny_text_path, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    client = run_command(os.path.join(ROOT, "tests", "backend_client.py"), tiny_text_path,
                         str(tmp_path), env=dict(os.environ, KERAS_BACKEND=backend))
    assert client.returncode == 0, client.stderr[-3000:]
    results = json.loads(client.stdout.splitlines()[-1])
    for name in ("train", "resume", "greedy", "sampled", "stateful", "evaluate", "controls",
                 "controls_resume", "gru", "gru_resume", "gru_greedy", "gru_stateful",
                 "budget"):
        assert results[name]["status"] == 0, (name, results[name]["stderr"])
    assert float(results["budget"]["last_learning_rate"]) == 0
    assert f"backend {backend}" in results["train"]["stderr"]  # the device line
    assert "epoch 3/3 loss" in results["resume"]["stderr"]
    assert "epoch 3/3 loss" in results["controls_resume"]["stderr"]
    best = results["best"]

    # The same characters under TensorFlow, here: at least the first 30 greedy ones.
    for name, keywords in (("greedy", {}), ("sampled", dict(temperature=1.0, seed=3)),
                           ("stateful", dict(stateful=True))):
        here = charlstm.generate(best, length=40, prime="alice was ", verbose=0, **keywords)
        assert results[name]["stdout"][:30] == here[:30], (name, results[name]["stdout"], here)
    assert "epoch 3/3 loss" in results["gru_resume"]["stderr"]
    for name, keywords in (("gru_greedy", {}), ("gru_stateful", dict(stateful=True))):
        here = charlstm.generate(results["gru_best"], length=40, prime="alice was ", verbose=0,
                                 **keywords)
        assert results[name]["stdout"][:30] == here[:30], (name, results[name]["stdout"], here)
    there = results["evaluate"]["stdout"]
    assert there.startswith("all: loss ")
    assert float(there.split()[2]) == pytest.approx(charlstm.evaluate(best, verbose=0)[0].loss,
                                                    abs=2e-4)
