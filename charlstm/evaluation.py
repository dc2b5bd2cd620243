"""The tutorial's objective for any checkpoint: the mean cross-entropy of the character after
each seq_length-character window, over every stride-1 window of a text, without dropout.

This is the number the tutorial reported as "loss" (1.9435 small, 1.2219 bigger), so it puts
models trained any way (--targets every, one-hot input, legacy files) on one scale.
Probabilities are clipped below at Keras' epsilon (1e-7), as Keras' own loss does.

    >>> loss, windows = tutorial_loss(model, checkpoint.topology, indices, 100)   # doctest: +SKIP
"""

import numpy as np

from .backend import compiled_forward
from .checkpoint import find_best_checkpoint
from .generation import load_for_generation
from .training import split_held_out
from .windows import encode_inputs, gather_patterns, input_table, pattern_count

EPSILON = 1e-7


def window_losses(forward, table, indices, seq_length, starts, batch_size=256):
    """Cross-entropy (nats) of the character after each window starting at `starts`.

    forward maps encoded windows (batch, seq_length, features) to next-character
    probabilities (batch, outputs): a compiled model whose output is the last position's.
    """
    losses = np.empty(len(starts), np.float64)
    for first in range(0, len(starts), batch_size):
        chunk = starts[first : first + batch_size]
        windows, targets = gather_patterns(indices, chunk, seq_length)
        probabilities = forward(encode_inputs(windows, table))
        # A legacy tutorial file may predict fewer characters than the text has: a target
        # beyond its Dense layer has probability 0 (clipped to epsilon).
        known = targets < probabilities.shape[1]
        chosen = np.zeros(len(targets), np.float64)
        chosen[known] = probabilities[np.arange(len(targets))[known], targets[known]]
        losses[first : first + len(chunk)] = -np.log(np.clip(chosen, EPSILON, 1.0))
    return losses


def tutorial_loss(model, topology, indices, seq_length, batch_size=256):
    """(mean cross-entropy in nats, number of windows) over all stride-1 windows of indices."""
    starts = np.arange(pattern_count(len(indices), seq_length))
    table = input_table(topology.vocab_size, topology.input_encoding)
    losses = window_losses(compiled_forward(model), table, indices, seq_length, starts, batch_size)
    return float(losses.mean()), len(starts)


def evaluate(args):
    """evaluate.py: print the tutorial loss of a checkpoint on a text, and on its two parts."""
    weights = args.weights or find_best_checkpoint(args.checkpoint_dir)
    model, checkpoint, indices = load_for_generation(weights, args.text, args.seq_length)
    parts = [("all", indices)]
    if args.held_out:
        training, held_out = split_held_out(indices, args.held_out)
        parts += [("training part", training), ("held-out tail", held_out)]
    for name, part in parts:
        if len(part) <= checkpoint.seq_length:
            print(f"{name}: too short for one {checkpoint.seq_length}-character window")
            continue
        loss, windows = tutorial_loss(model, checkpoint.topology, part, checkpoint.seq_length,
                                      args.batch_size)
        print(f"{name}: loss {loss:.4f} over {windows} windows", flush=True)
