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
    temperature, add up to top_p. top_p 1 (or None) keeps every character. One draw of rng
    a row and a call (choose_rows does the arithmetic)."""
    assert temperature >= 0 and (top_k is None or top_k >= 1)
    assert top_p is None or 0 < top_p <= 1
    if temperature == 0:
        return greedy
    rng = rng if rng is not None else np.random.default_rng()

    def choose(probabilities):
        probabilities = np.asarray(probabilities, dtype=np.float64)
        rows, size = probabilities.shape
        return choose_rows(probabilities, np.full(rows, float(temperature)),
                           np.full(rows, min(top_k or size, size)),
                           np.full(rows, 1.0 if top_p is None else float(top_p)),
                           rng.random((rows, 1)))  # a draw for every row: seeds repeat

    return choose


def choose_rows(probabilities, temperatures, top_ks, top_ps, draws):
    """make_chooser's sampled choice, each row with its own settings: probabilities (N, V),
    temperatures (N,) above 0, top_ks (N,) whole numbers (V: all), top_ps (N,) in (0, 1]
    (1: all), draws (N, 1) uniform in [0, 1). Every operation works row by row, so a row's
    choice does not depend on the rows beside it: serve.py chooses every stream's next
    character in one call, each with its request's settings and random generator.

    >>> p = np.array([[0.1, 0.7, 0.2], [0.1, 0.7, 0.2]])
    >>> choose_rows(p, np.array([1.0, 1.0]), np.array([3, 1]), np.array([1.0, 1.0]),
    ...             np.array([[0.05], [0.05]])).tolist()    # all three, then the top one only
    [0, 1]
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    rows, size = probabilities.shape
    allowed = probabilities > 0
    ranked_rows = np.flatnonzero(top_ks < size)
    if len(ranked_rows):
        # The k most likely of each row; a stable sort keeps the lower index on ties.
        ranked = np.argsort(-probabilities[ranked_rows], axis=1, kind="stable")
        ranks = np.empty_like(ranked)
        np.put_along_axis(ranks, ranked, np.arange(size)[None, :].repeat(len(ranked), 0), 1)
        allowed[ranked_rows] &= ranks < top_ks[ranked_rows, None]
    logits = np.full_like(probabilities, -np.inf)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # A temperature so small that log(p) / T overflows is the greedy choice.
        per_element = np.broadcast_to(np.asarray(temperatures, np.float64)[:, None],
                                      probabilities.shape)
        logits[allowed] = np.log(probabilities[allowed]) / per_element[allowed]
        top = logits.max(axis=1, keepdims=True)
        computable = np.isfinite(top[:, 0])
        logits -= np.where(np.isfinite(top), top, 0.0)
        weights = np.exp(logits)  # exp(-inf) is exactly 0
        # top_p 1 is exactly plain sampling: no rounding of a cumulative sum drops a tail.
        nucleus_rows = np.flatnonzero(top_ps < 1)
        if len(nucleus_rows):
            weights[nucleus_rows], allowed[nucleus_rows] = _nucleus(
                weights[nucleus_rows], allowed[nucleus_rows], top_ps[nucleus_rows, None])
        cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    chosen = (cumulative <= draws).sum(axis=1)
    # Rounding can leave the last cumulative value just under a draw near 1: take the
    # last allowed character then, never one that was masked out.
    last_allowed = size - 1 - np.argmax(allowed[:, ::-1], axis=1)
    chosen = np.minimum(chosen, last_allowed)
    if not computable.all():
        chosen = np.where(computable, chosen, greedy(probabilities))
    return chosen


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
