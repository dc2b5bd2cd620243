"""decoder.js's createRandom is NumPy's default_rng(seed): the same doubles from random() and
the same integers(low, high, size) for the same seed, checked against NumPy itself in node.

Example: python -m pytest -q tests/exporting/test_numpy_random_js.py
"""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

DECODER = Path(__file__).resolve().parents[2] / "charlstm" / "web" / "decoder.js"
SEEDS = [0, 1, 7, 42, 2**31, 2**32 - 1, 2**40, 2**64 + 5, 12345678901234567890123456789]
# Ranges a seed window draws from (small texts to 1M-character ones), the 32-bit edge, and
# ranges above 32 bits (numpy's 64-bit Lemire path).
RANGES = [(0, 1), (0, 2), (0, 7), (0, 1000), (0, 999_900), (3, 2**31 + 11), (0, 2**32),
          (0, 2**32 + 1), (0, 2**40 + 3), (0, 2**62)]
COUNT = 40

SCRIPT = """
require(process.argv[1]);
const cases = JSON.parse(process.argv[2]);
const out = cases.seeds.map((seed) => {
  const random = globalThis.charlstmDecoding.createRandom(BigInt(seed));
  const draws = [];
  for (const [low, high] of cases.ranges) {
    draws.push(random.integers(BigInt(low), BigInt(high), cases.count).map(String));
    draws.push(Array.from({ length: cases.count }, () => random()));
  }
  return draws;
});
console.log(JSON.stringify(out));
"""


def numpy_draws(seed):
    rng = np.random.default_rng(seed)
    draws = []
    for low, high in RANGES:
        draws.append([str(value) for value in rng.integers(low, high, size=COUNT).tolist()])
        draws.append(rng.random((COUNT, 1))[:, 0].tolist())  # as sampling.make_chooser draws
    return draws


@pytest.mark.skipif(shutil.which("node") is None, reason="node missing: apt-get install nodejs")
def test_create_random_draws_what_numpy_default_rng_draws():
    cases = {"seeds": [str(seed) for seed in SEEDS], "ranges": [[str(low), str(high)]
             for low, high in RANGES], "count": COUNT}
    result = subprocess.run(["node", "-e", SCRIPT, str(DECODER), json.dumps(cases)],
                            capture_output=True, text=True, timeout=60, check=True)
    browser = json.loads(result.stdout)
    for seed, draws in zip(SEEDS, browser):
        assert draws == numpy_draws(seed), f"seed {seed}"
