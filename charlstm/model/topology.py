"""A model's sizes: what checkpoints record, charlstm.model.models builds, and the decoders read.

    >>> Topology(vocab_size=43, output_size=43, input_encoding="one-hot").input_width
    43
    >>> Topology(vocab_size=3000, output_size=3000, input_encoding="embedding",
    ...          embedding_size=64).input_width
    64
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topology:
    vocab_size: int  # characters the inputs are scaled by (the tutorial's n_vocab)
    output_size: int  # Dense width: the vocabulary, or fewer in legacy tutorial files
    layers: int = 1
    units: int = 256
    dropout: float = 0.2
    # "scaled": index / vocab_size; "one-hot": a 1 in vocab_size; "embedding": the index,
    # which an Embedding layer (the model's first) turns into embedding_size features
    input_encoding: str = "scaled"
    input_dropout: float = 0.0  # dropout on the visible input (idea 6); a layer without weights
    cell: str = "lstm"  # the recurrent layers: a name in charlstm.model.cells.CELLS
    embedding_size: int = None  # with input_encoding "embedding" only

    @property
    def input_width(self):
        """Features per time step that the first recurrent layer reads."""
        if self.input_encoding == "embedding":
            return self.embedding_size
        return self.vocab_size if self.input_encoding == "one-hot" else 1

    @property
    def reads_indices(self):
        """Whether the model takes character indices (int32, (batch, time)) rather than
        encoded features (float32, (batch, time, features))."""
        return self.input_encoding == "embedding"
