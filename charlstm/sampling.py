"""Choosing each next character, and the generation loop that train and generate share.

temperature 0 is the tutorial's argmax. temperature T > 0 samples from softmax(log p / T),
optionally among the top_k most likely characters only; zero probabilities stay impossible
(masked, never log(0)). Everything works on a batch: probabilities (N, vocabulary) in,
indices (N,) out, so N samples cost one forward call per step.

    >>> import numpy as np
    >>> choose = make_chooser(temperature=0)
    >>> choose(np.array([[0.1, 0.7, 0.2]])).tolist()
    [1]
    >>> choose = make_chooser(temperature=1.0, top_k=1, rng=np.random.default_rng(0))
    >>> choose(np.array([[0.1, 0.7, 0.2]])).tolist()
    [1]
"""

import numpy as np


def greedy(probabilities):
    """The most likely character of each row (the first one on a tie), as the tutorial."""
    return np.argmax(probabilities, axis=1)


def make_chooser(temperature=0.0, top_k=None, rng=None):
    """A function from probabilities (N, V) to chosen indices (N,)."""
    assert temperature >= 0 and (top_k is None or top_k >= 1)
    if temperature == 0:
        return greedy
    rng = rng if rng is not None else np.random.default_rng()

    def choose(probabilities):
        probabilities = np.asarray(probabilities, dtype=np.float64)
        rows, size = probabilities.shape
        allowed = probabilities > 0
        if top_k is not None and top_k < size:
            # The k most likely of each row; a stable sort keeps the lower index on ties.
            ranked = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]
            in_top = np.zeros_like(allowed)
            in_top[np.arange(rows)[:, None], ranked] = True
            allowed &= in_top
        logits = np.full_like(probabilities, -np.inf)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            # A temperature so small that log(p) / T overflows is the greedy choice.
            logits[allowed] = np.log(probabilities[allowed]) / temperature
            top = logits.max(axis=1, keepdims=True)
            computable = np.isfinite(top[:, 0])
            logits -= np.where(np.isfinite(top), top, 0.0)
            weights = np.exp(logits)  # exp(-inf) is exactly 0
            cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
        draws = rng.random((rows, 1))  # drawn for every row, so seeds give the same stream
        chosen = (cumulative <= draws).sum(axis=1)
        # Rounding can leave the last cumulative value just under a draw near 1: take the
        # last allowed character then, never one that was masked out.
        last_allowed = size - 1 - np.argmax(allowed[:, ::-1], axis=1)
        chosen = np.minimum(chosen, last_allowed)
        if not computable.all():
            chosen = np.where(computable, chosen, greedy(probabilities))
        return chosen

    return choose


def generate_indices(decoder, primes, length, choose=greedy):
    """Yield `length` arrays of N next-character indices, continuing the N prime rows."""
    probabilities = decoder.start(primes)
    for step in range(length):
        indices = choose(probabilities)
        yield indices
        if step + 1 < length:
            probabilities = decoder.advance(indices)
