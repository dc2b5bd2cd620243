"""Choosing each next character, and the generation loop that train and generate share.

temperature 0 is the tutorial's argmax. temperature T > 0 samples from softmax(log p / T),
optionally among the top_k most likely characters only, and (nucleus sampling) among the
fewest most likely characters that hold top_p of the probability; zero probabilities stay impossible
(masked, never log(0)). Everything works on a batch: probabilities (N, vocabulary) in,
indices (N,) out, so N samples cost one forward call per step.

    >>> import numpy as np
    >>> choose = make_chooser(temperature=0)
    >>> choose(np.array([[0.1, 0.7, 0.2]])).tolist()
    [1]
    >>> choose = make_chooser(temperature=1.0, top_k=1, rng=np.random.default_rng(0))
    >>> choose(np.array([[0.1, 0.7, 0.2]])).tolist()
    [1]
    >>> choose = make_chooser(temperature=1.0, top_p=0.75, rng=np.random.default_rng(0))
    >>> sorted({int(choose(np.array([[0.1, 0.7, 0.2]]))[0]) for _ in range(50)})  # 0.7 + 0.2
    [1, 2]
"""

import numpy as np


def greedy(probabilities):
    """The most likely character of each row (the first one on a tie), as the tutorial."""
    return np.argmax(probabilities, axis=1)


def make_chooser(temperature=0.0, top_k=None, rng=None, top_p=None):
    """A function from probabilities (N, V) to chosen indices (N,): greedy at temperature 0,
    else a draw from softmax(log p / temperature), among the top_k most likely characters
    and then (nucleus sampling) the fewest most likely ones whose probabilities, after the
    temperature, add up to top_p. top_p 1 (or None) keeps every character."""
    assert temperature >= 0 and (top_k is None or top_k >= 1)
    assert top_p is None or 0 < top_p <= 1
    if temperature == 0:
        return greedy
    if top_p is not None and top_p >= 1:
        top_p = None  # exactly plain sampling: no rounding of a cumulative sum can drop a tail
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
            if top_p is not None:
                weights, allowed = _nucleus(weights, allowed, top_p)
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


def _nucleus(weights, allowed, top_p):
    """Keep, in each row, the most likely characters until their share of the row's weight
    reaches top_p (at least the most likely one; ties keep the lower index first)."""
    shares = weights / weights.sum(axis=1, keepdims=True)
    ranked = np.argsort(-shares, axis=1, kind="stable")
    ranked_shares = np.take_along_axis(shares, ranked, axis=1)
    before = np.cumsum(ranked_shares, axis=1) - ranked_shares  # the share ranked above each
    keep_ranked = before < top_p
    keep = np.zeros_like(allowed)
    np.put_along_axis(keep, ranked, keep_ranked, axis=1)
    return np.where(keep, weights, 0.0), allowed & keep


def generate_indices(decoder, primes, length, choose=greedy):
    """Yield `length` arrays of N next-character indices, continuing the N prime rows."""
    probabilities = decoder.start(primes)
    for step in range(length):
        indices = choose(probabilities)
        yield indices
        if step + 1 < length:
            probabilities = decoder.advance(indices)
