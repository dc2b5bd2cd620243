"""evaluate.py and charlstm.evaluate: an even sample of windows with its standard error by
default, every window with --all, each window scored once, and the held-out part of a
checkpoint trained with --validation-split split as training split it (the last fraction of
one text, whole files of several)."""

import hashlib
import math

import keras
import numpy as np
import pytest

import charlstm
from charlstm.checkpoints.format import write_checkpoint
from charlstm.checkpoints.loading import load_for_generation
from charlstm.checkpoints.metadata import Metadata
from charlstm.checkpoints.snapshots import snapshot
from charlstm.generation import evaluation
from charlstm.generation.evaluation import tutorial_loss, window_losses
from charlstm.model.models import build_model, compiled_forward
from charlstm.text.sources import load_sources, split
from charlstm.text.windows import input_table, pattern_count
from charlstm.training.run import topology_of

from conftest import TINY_TEXT, run_main, train_args

SEQ_LENGTH = 10
SAMPLE = 40  # --windows: well below the windows of each part of these texts


def write_lively_checkpoint(path, text_path, **overrides):
    """A checkpoint of an untrained tiny model, its weights scaled up so that its losses vary
    from window to window, written as training writes one: its settings (validation_split
    among them), its text, and the documents of a text of several files."""
    settings = train_args(text=text_path, seq_length=SEQ_LENGTH, **overrides)
    corpus = load_sources(text_path)
    keras.utils.set_random_seed(3)
    model = build_model(topology_of(settings, len(corpus.vocabulary)))
    *cells, dense_kernel, dense_bias = model.get_weights()
    model.set_weights([array * 4 for array in cells] + [dense_kernel * 6, dense_bias])
    documents = [document.record() for document in corpus.documents]
    metadata = Metadata.for_run(settings, corpus.vocabulary.chars, len(corpus.indices),
                                hashlib.sha256(b"text").hexdigest(), documents).at_epoch(1, 3.0)
    write_checkpoint(str(path), snapshot(model), metadata, corpus.indices)
    return str(path), corpus


@pytest.fixture(scope="module")
def one_text(tmp_path_factory):
    """(weights, corpus) of a checkpoint trained with --validation-split 0.2 on one text of
    about 1,700 characters."""
    folder = tmp_path_factory.mktemp("one_text")
    text = folder / "book.txt"
    text.write_text(TINY_TEXT * 5, encoding="utf-8")
    return write_lively_checkpoint(folder / "weights.hdf5", str(text), validation_split=0.2)


@pytest.fixture(scope="module")
def several_files(tmp_path_factory):
    """(weights, corpus) of a checkpoint trained with --validation-split 0.3 on a folder of
    six files, whole files of which training held out."""
    folder = tmp_path_factory.mktemp("several")
    texts = folder / "texts"
    texts.mkdir()
    for number in range(6):
        words = TINY_TEXT.split()
        (texts / f"part{number}.txt").write_text(" ".join(words[number * 7:] + words[:9]),
                                                 encoding="utf-8")
    return write_lively_checkpoint(folder / "weights.hdf5", str(texts), validation_split=0.3)


def exact_losses(weights, pieces):
    """tutorial_loss of each index array in pieces, computed apart."""
    model, checkpoint, _ = load_for_generation(weights)
    return [tutorial_loss(model, checkpoint.topology, piece, SEQ_LENGTH)[0] for piece in pieces]


def test_the_default_scores_an_even_sample_of_each_part_with_its_standard_error(one_text):
    weights, corpus = one_text
    scores = charlstm.evaluate(weights, windows=SAMPLE, verbose=0)
    # The checkpoint's own --validation-split 0.2 gives the held-out part, unasked.
    assert [score.part for score in scores] == ["all", "training part", "held-out tail"]
    training, held_out, _ = split(corpus, 0.2)
    assert [score.windows for score in scores[1:]] == [
        pattern_count(len(training), SEQ_LENGTH), pattern_count(len(held_out), SEQ_LENGTH)]
    assert [score.scored for score in scores[1:]] == [SAMPLE, SAMPLE]
    # "all": both samples and the SEQ_LENGTH windows across the cut, scored whole.
    assert scores[0].scored == 2 * SAMPLE + SEQ_LENGTH
    assert scores[0].windows == pattern_count(len(corpus.indices), SEQ_LENGTH)
    # Each part's figure is the mean over its even sample, the standard error its standard
    # deviation / sqrt(n) times the finite-population correction.
    model, checkpoint, _ = load_for_generation(weights)
    table = input_table(checkpoint.topology.vocab_size, checkpoint.topology.input_encoding)
    for score, part in zip(scores[1:], (training, held_out)):
        starts = ((np.arange(SAMPLE) + 0.5) * score.windows / SAMPLE).astype(int)
        losses = window_losses(compiled_forward(model), table, part, SEQ_LENGTH, starts)
        assert score.loss == pytest.approx(losses.mean(), rel=1e-9)
        error = losses.std(ddof=1) / math.sqrt(SAMPLE) * math.sqrt(1 - SAMPLE / score.windows)
        assert score.standard_error == pytest.approx(error, rel=1e-9) and error > 0
    # The same figures every run.
    assert charlstm.evaluate(weights, windows=SAMPLE, verbose=0) == scores


def test_all_gives_the_exact_figures_and_they_lie_near_the_sample(one_text):
    weights, corpus = one_text
    exact = charlstm.evaluate(weights, all=True, verbose=0)
    training, held_out, _ = split(corpus, 0.2)
    assert [score.loss for score in exact] == pytest.approx(
        exact_losses(weights, [corpus.indices, training, held_out]), rel=1e-6)
    assert all(score.scored == score.windows and score.standard_error == 0 for score in exact)
    sampled = charlstm.evaluate(weights, windows=SAMPLE, verbose=0)
    for estimate, score in zip(sampled, exact):
        assert abs(estimate.loss - score.loss) <= 3 * estimate.standard_error


def test_each_window_is_scored_once(one_text, monkeypatch):
    weights, corpus = one_text
    passed = []

    def counting(model):
        forward = compiled_forward(model)

        def counted(inputs):
            passed.append(len(inputs))
            return forward(inputs)

        return counted

    monkeypatch.setattr(evaluation, "compiled_forward", counting)
    exact = charlstm.evaluate(weights, all=True, verbose=0)
    # The whole text's windows, once each: the parts' and the ones across the cut.
    assert sum(passed) == exact[0].windows == pattern_count(len(corpus.indices), SEQ_LENGTH)
    passed.clear()
    sampled = charlstm.evaluate(weights, windows=SAMPLE, verbose=0)
    assert sum(passed) == sampled[0].scored == 2 * SAMPLE + SEQ_LENGTH < sampled[0].windows


def test_held_out_files_are_the_ones_training_held_out(several_files):
    """A corpus of several files stored in the checkpoint: its metadata's documents give the
    files back, and the held-out part is the whole files training held out."""
    weights, corpus = several_files
    exact = charlstm.evaluate(weights, all=True, verbose=0)
    assert [score.part for score in exact] == ["all", "training part", "held-out files"]
    training, held_out, files = split(corpus, 0.3)
    assert 0 < len(files) < len(corpus.documents)
    assert [score.loss for score in exact] == pytest.approx(
        exact_losses(weights, [corpus.indices, training, held_out]), rel=1e-6)
    assert [score.windows for score in exact] == [
        pattern_count(len(piece), SEQ_LENGTH) for piece in (corpus.indices, training, held_out)]


def test_the_command_prints_each_figure_with_its_standard_error(one_text):
    weights, corpus = one_text
    result = run_main("evaluate.py", "--weights", weights, "--windows", str(SAMPLE))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    scores = charlstm.evaluate(weights, windows=SAMPLE, verbose=0)
    for line, score in zip(lines, scores, strict=True):
        assert line == (f"{score.part}: loss {score.loss:.4f} ± {score.standard_error:.4f} "
                        f"nats ({score.bits_per_character:.4f} ± "
                        f"{score.standard_error_bits:.4f} bits) a character over "
                        f"{score.scored:,} of {score.windows:,} windows")
    # Two phases: the windows read from their last --context characters too.
    result = run_main("evaluate.py", "--weights", weights, "--windows", str(WHOLE),
                      "--context", str(CONTEXT), "--held-out", "0")
    (line,) = result.stdout.splitlines()
    (score,) = charlstm.evaluate(weights, windows=WHOLE, context=CONTEXT, held_out=0, verbose=0)
    assert line.endswith(f"over {WHOLE} of {score.windows:,} windows, "
                         f"{score.short_scored:,} read from their last {CONTEXT} characters")
    assert f"loss {score.loss:.4f} ± {score.standard_error:.4f} nats" in line
    result = run_main("evaluate.py", "--weights", weights, "--all", "--held-out", "0")
    (line,) = result.stdout.splitlines()
    model, checkpoint, _ = load_for_generation(weights)
    loss, windows = tutorial_loss(model, checkpoint.topology, corpus.indices, SEQ_LENGTH)
    assert line == (f"all: loss {loss:.4f} nats ({loss / math.log(2):.4f} bits) a character "
                    f"over {windows} windows")


def test_a_checkpoint_without_a_held_out_part_prints_the_whole_only(tmp_path):
    text = tmp_path / "book.txt"
    text.write_text(TINY_TEXT * 5, encoding="utf-8")
    weights, _ = write_lively_checkpoint(tmp_path / "weights.hdf5", str(text))
    (score,) = charlstm.evaluate(weights, windows=SAMPLE, verbose=0)
    assert score.part == "all" and score.scored == SAMPLE < score.windows
    # Another text (--text) gets its held-out part only when asked for.
    assert len(charlstm.evaluate(weights, text=str(text), held_out=0.2, windows=SAMPLE,
                                 verbose=0)) == 3


# Two phases: windows of each part read from their last CONTEXT characters (phase one), a
# smaller even sample of those scored whole (phase two).
CONTEXT = 4
WHOLE = 10  # --windows: phase one reads up to SHORT_PER_FULL times as many


def counting_forward(monkeypatch):
    """[(batch, window length)] of every forward call evaluate makes from now on."""
    passed = []

    def counting(model):
        forward = compiled_forward(model)

        def counted(inputs):
            passed.append(inputs.shape[:2])
            return forward(inputs)

        return counted

    monkeypatch.setattr(evaluation, "compiled_forward", counting)
    return passed


def test_two_phases_give_the_difference_estimate_and_its_standard_error(one_text):
    weights, corpus = one_text
    scores = charlstm.evaluate(weights, windows=WHOLE, context=CONTEXT, verbose=0)
    training, held_out, _ = split(corpus, 0.2)
    model, checkpoint, _ = load_for_generation(weights)
    forward = compiled_forward(model)
    table = input_table(checkpoint.topology.vocab_size, checkpoint.topology.input_encoding)
    first = evaluation.SHORT_PER_FULL * WHOLE
    for score, part in zip(scores[1:], (training, held_out)):
        count = pattern_count(len(part), SEQ_LENGTH)
        assert count > first  # so both phases sample
        short_starts = ((np.arange(first) + 0.5) * count / first).astype(int)
        whole = ((np.arange(WHOLE) + 0.5) * first / WHOLE).astype(int)
        short = window_losses(forward, table, part, CONTEXT,
                              short_starts + SEQ_LENGTH - CONTEXT)
        full = window_losses(forward, table, part, SEQ_LENGTH, short_starts[whole])
        differences = full - short[whole]
        assert score.loss == pytest.approx(short.mean() + differences.mean(), rel=1e-9)
        variance = (short.var(ddof=1) / first * (1 - first / count)
                    + differences.var(ddof=1) / WHOLE * (1 - WHOLE / first))
        assert score.standard_error == pytest.approx(math.sqrt(variance), rel=1e-9)
        assert (score.scored, score.short_scored, score.context) == (WHOLE, first, CONTEXT)
        # The short reading is a different figure: the correction is doing work.
        assert abs(differences.mean()) > 1e-3
    # "all": the parts' strata and the SEQ_LENGTH windows across the cut (scored whole).
    assert scores[0].scored == 2 * WHOLE + SEQ_LENGTH and scores[0].short_scored == 2 * first
    exact = charlstm.evaluate(weights, all=True, verbose=0)
    for estimate, score in zip(scores, exact):
        assert abs(estimate.loss - score.loss) <= 3 * estimate.standard_error


def test_two_phases_of_every_window_give_the_exact_figure(one_text, monkeypatch):
    """With phase two scoring every window of phase one, and phase one every window, the
    difference estimator collapses to the exact mean, with no error."""
    weights, _ = one_text
    monkeypatch.setattr(evaluation, "_plan", lambda count, options, context: evaluation._Sample(
        np.arange(count), np.arange(count)))
    scores = charlstm.evaluate(weights, windows=WHOLE, context=CONTEXT, verbose=0)
    monkeypatch.undo()
    exact = charlstm.evaluate(weights, all=True, verbose=0)
    for estimate, score in zip(scores, exact):
        assert estimate.short_scored == estimate.windows == score.windows
        assert estimate.loss == pytest.approx(score.loss, rel=1e-9)
        assert estimate.standard_error == pytest.approx(0, abs=1e-12)


def test_phase_one_reads_short_windows_each_window_once_at_each_length(one_text, monkeypatch):
    weights, _ = one_text
    passed = counting_forward(monkeypatch)
    scores = charlstm.evaluate(weights, windows=WHOLE, context=CONTEXT, verbose=0)
    assert {length for _, length in passed} == {CONTEXT, SEQ_LENGTH}
    assert sum(batch for batch, length in passed if length == CONTEXT) == scores[0].short_scored
    assert sum(batch for batch, length in passed if length == SEQ_LENGTH) == scores[0].scored
    # --context 0 is plain sampling: every sampled window whole only.
    passed.clear()
    plain = charlstm.evaluate(weights, windows=WHOLE, context=0, verbose=0)
    assert {length for _, length in passed} == {SEQ_LENGTH} and plain[1].short_scored == 0
    assert sum(batch for batch, _ in passed) == plain[0].scored == 2 * WHOLE + SEQ_LENGTH


def test_a_fixed_length_model_falls_back_to_plain_sampling(one_text, monkeypatch):
    weights, _ = one_text
    loaded = load_for_generation(weights)
    fixed = build_model(loaded.checkpoint.topology, seq_length=SEQ_LENGTH, unroll=True)
    fixed.set_weights(loaded.model.get_weights())
    monkeypatch.setattr(evaluation, "load_for_generation",
                        lambda *arguments: loaded._replace(model=fixed))
    passed = counting_forward(monkeypatch)
    scores = charlstm.evaluate(weights, windows=WHOLE, context=CONTEXT, verbose=0)
    assert {length for _, length in passed} == {SEQ_LENGTH}
    assert all(score.short_scored == 0 and score.context is None for score in scores)
    monkeypatch.undo()
    assert scores == charlstm.evaluate(weights, windows=WHOLE, context=0, verbose=0)


def test_an_embedding_model_reads_short_windows_too(tmp_path):
    text = tmp_path / "book.txt"
    text.write_text(TINY_TEXT * 5, encoding="utf-8")
    weights, _ = write_lively_checkpoint(tmp_path / "weights.hdf5", str(text),
                                         input_encoding="embedding", embedding_size=4)
    (score,) = charlstm.evaluate(weights, windows=WHOLE, context=CONTEXT, verbose=0)
    exact = charlstm.evaluate(weights, all=True, verbose=0)[0]
    assert score.short_scored == evaluation.SHORT_PER_FULL * WHOLE and score.scored == WHOLE
    assert abs(score.loss - exact.loss) <= 3 * score.standard_error
