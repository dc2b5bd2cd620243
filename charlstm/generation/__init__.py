"""Writing text with a trained model, and scoring it: the decoders that step a model one
character at a time, the sampler that chooses each character, generation from a prime, and
evaluation on a text.

  decoders    the tutorial's window decoder and the stateful float64 NumPy decoder
  sampling    greedy, temperature, top-k and top-p choices, one row or many
  generate    start(): a checkpoint and its options to a stream of characters
  evaluation  evaluate(): a checkpoint's loss on a text

    >>> import numpy as np
    >>> from charlstm.generation.sampling import make_chooser
    >>> choose = make_chooser(temperature=0.0)   # greedy, as the tutorial
    >>> choose(np.array([[0.1, 0.7, 0.2]]))
    array([1])
"""
