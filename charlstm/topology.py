"""A model's sizes: what checkpoints record, charlstm.models builds, and the decoders read.

    >>> Topology(vocab_size=43, output_size=43, input_encoding="one-hot").input_width
    43
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topology:
    vocab_size: int  # characters the inputs are scaled by (the tutorial's n_vocab)
    output_size: int  # Dense width: the vocabulary, or fewer in legacy tutorial files
    layers: int = 1
    units: int = 256
    dropout: float = 0.2
    input_encoding: str = "scaled"  # "scaled": index / vocab_size; "one-hot": a 1 in vocab_size
    input_dropout: float = 0.0  # dropout on the visible input (idea 6); a layer without weights

    @property
    def input_width(self):
        """Features per time step."""
        return self.vocab_size if self.input_encoding == "one-hot" else 1
