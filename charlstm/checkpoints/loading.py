"""A checkpoint as a model ready to generate or score: ours, or a legacy tutorial file.

Our files carry vocabulary, window length and the seed text (the training text, from which
random seed windows are drawn); a --text then only replaces the seed text. Legacy files
carry only weights: their vocabulary, and so their input encoding, come from a text (by
default the bundled wonderland.txt), as in the tutorial.

    >>> import os
    >>> fixture = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "format2",
    ...                        "weights-improvement-06-2.8997.hdf5")   # a tiny test model
    >>> loaded = load_for_generation(fixture)
    >>> loaded.checkpoint.seq_length, len(loaded.checkpoint.vocabulary), loaded.model.name
    (10, 29, 'char_lstm')
"""

import dataclasses
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .format import Checkpoint, load_checkpoint
from ..text.corpus import BUNDLED_NAME, load_corpus
from ..text.sources import load_sources
from ..errors import UserError
from ..model.models import build_model

if TYPE_CHECKING:  # for the annotations only: models imports Keras already
    import keras

LEGACY_DEFAULT_TEXT = BUNDLED_NAME
LEGACY_DEFAULT_SEQ_LENGTH = 100


class LoadedModel(NamedTuple):
    """A checkpoint's model, ready to generate or score (charlstm.Loaded is the API's)."""

    model: "keras.Sequential"  # reads windows of any length
    checkpoint: Checkpoint
    seed_text: np.ndarray  # indices in the model's vocabulary; None if the file keeps none


def fit_legacy_to_vocabulary(checkpoint, vocabulary, text_path):
    """A legacy checkpoint with the text's vocabulary, checking that its shapes allow it."""
    topology = checkpoint.topology
    if topology.output_size > len(vocabulary):
        raise UserError(
            f"weights file '{checkpoint.path}' predicts {topology.output_size} characters but "
            f"'{text_path}' has only {len(vocabulary)}: it was trained on another text "
            "(the original Python 2 tutorial counted bytes: BOM and CR included)"
        )
    width = checkpoint.legacy_input_width
    if width == 1:
        encoding = "scaled"
    elif width == len(vocabulary):
        encoding = "one-hot"
    else:
        raise UserError(
            f"weights file '{checkpoint.path}' takes {width} input features a step, which fits "
            f"neither a scaled index (1) nor one-hot input over '{text_path}'s "
            f"{len(vocabulary)} characters"
        )
    fitted = dataclasses.replace(topology, vocab_size=len(vocabulary), input_encoding=encoding)
    return dataclasses.replace(checkpoint, topology=fitted, vocabulary=vocabulary)


def text_for_model(text_path, checkpoint):
    """A --text (files, folders, patterns) read by the checkpoint's text rules, as Sources
    in the checkpoint's vocabulary; UserError naming the characters the model does not
    know."""
    corpus = load_sources(text_path, checkpoint.text_rules, checkpoint.documents_mode)
    # Each of the text's own characters in the model's vocabulary (UserError if unknown).
    shown = text_path if isinstance(text_path, str) else ", ".join(text_path)
    mapping = checkpoint.vocabulary.encode(corpus.vocabulary.chars,
                                           what=f"text file '{shown}'")
    return dataclasses.replace(corpus, vocabulary=checkpoint.vocabulary,
                               indices=mapping[corpus.indices])


def load_for_generation(weights, text_path=None, seq_length=None):
    """LoadedModel(model, checkpoint, seed text) for a weights file, ours or a legacy one."""
    checkpoint = load_checkpoint(weights)
    if checkpoint.is_legacy:
        text_path = text_path or LEGACY_DEFAULT_TEXT
        corpus = load_corpus(text_path)
        checkpoint = fit_legacy_to_vocabulary(checkpoint, corpus.vocabulary, text_path)
        checkpoint = dataclasses.replace(checkpoint, seq_length=seq_length
                                         or checkpoint.seq_length or LEGACY_DEFAULT_SEQ_LENGTH)
        seed_text = corpus.indices
    else:
        if seq_length is not None and seq_length != checkpoint.seq_length:
            raise UserError(
                f"'{weights}' was trained on windows of {checkpoint.seq_length} characters; "
                "--seq-length is only for legacy files that do not say"
            )
        seed_text = checkpoint.seed_text
        if text_path:
            seed_text = text_for_model(text_path, checkpoint).indices
    model = build_model(checkpoint.topology)
    try:
        model.set_weights(checkpoint.weights)
    except ValueError as error:
        raise UserError(f"weights file '{weights}' does not fit its own topology: "
                        f"{error}") from None
    return LoadedModel(model, checkpoint, seed_text)
