"""The values a run and each command work with, as frozen dataclasses an editor can read:
Settings (train.py), GenerationOptions (generate.py), EvaluationOptions (evaluate.py),
ExportOptions (export.py) and ServeOptions (serve.py).

Each field is one option declared in charlstm.config (SETTINGS, GENERATION, EVALUATION,
EXPORT, SERVE), in the same order, with its default and the type its check returns; the
declarations say everything else (help, flag, check, resume rule).
tests/test_config.py keeps the two equal, so a new option is one declaration and one field
here. A value changes by dataclasses.replace, never in place.

    >>> import dataclasses
    >>> settings = Settings()
    >>> settings.units, settings.seq_length, settings.cell   # the tutorial's model
    (256, 100, 'lstm')
    >>> dataclasses.replace(settings, units=512).units
    512
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Settings:
    """One run's settings: one field per config.SETTINGS entry, and `explicit`, the names
    that were given (on the command line or as keyword arguments). Explicit values beat a
    preset and --bigger, and --resume refuses an explicit value that contradicts a fixed
    setting."""

    text: str | tuple[str, ...] = "wonderland.txt"
    encoding: str = "utf-8"
    keep_case: bool = False
    keep_boilerplate: bool = False
    documents: str = "files"
    seq_length: int = 100
    strip_punctuation: bool = False
    sentences: bool = False
    bigger: bool = False
    cell: str = "lstm"
    units: int = 256
    layers: int = 1
    dropout: float = 0.2
    input_dropout: float = 0.0
    input_encoding: str = "scaled"
    embedding_size: int = 64
    epochs: int = 20
    minutes: float | None = None
    max_steps: int | None = None
    steps_per_epoch: int | None = None
    batch_size: int = 128
    preset: str | None = None
    learning_rate: float = 0.001
    clipnorm: float | None = None
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    ema: float | None = None
    early_stopping: int | None = None
    targets: str = "last"
    validation_split: float = 0.0
    monitor: str = "loss"
    stateful: bool = False
    resume: str | None = None
    init_from: str | None = None
    seed: int | None = None
    dry_run: bool = False
    distribute: bool = False
    mixed_precision: bool = False
    checkpoint_dir: str = "."
    history: str | None = None
    tensorboard: str | None = None
    text_in_checkpoint: bool = True
    overwrite: bool = False
    sample_every: int | None = None
    verbose_backend: bool = False
    # The names given explicitly (flags typed, keyword arguments passed).
    explicit: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class CheckpointChoice:
    """Which checkpoint a command reads, the first fields of generation's and evaluation's
    options (config's WEIGHTS, CHECKPOINT_DIR and LEGACY_SEQ_LENGTH): --weights, else the
    best file in --checkpoint-dir; --seq-length for legacy files that do not record it."""

    weights: str | None = None
    checkpoint_dir: str = "."
    seq_length: int | None = None


@dataclasses.dataclass(frozen=True)
class GenerationOptions(CheckpointChoice):
    """One generation's options: one field per config.GENERATION entry, checked."""

    text: str | None = None
    length: int = 1000
    seed: int | None = None
    prime: str | None = None
    prime_file: str | None = None
    unknown: str = "error"
    temperature: float = 0.0
    top_k: int | None = None
    top_p: float = 1.0
    num_samples: int = 1
    stateful: bool = False
    stop_at: str | tuple[str, ...] | None = None
    items: int | None = None
    new_only: bool = False


@dataclasses.dataclass(frozen=True)
class EvaluationOptions(CheckpointChoice):
    """One evaluation's options: one field per config.EVALUATION entry, checked."""

    text: str | tuple[str, ...] | None = None
    held_out: float | None = None
    windows: int = 500
    context: int = 20
    all: bool = False
    batch_size: int = 256


@dataclasses.dataclass(frozen=True)
class ExportOptions:
    """One export's options: one field per config.EXPORT entry, checked."""

    weights: str | None = None
    format: str = "keras"
    output: str | None = None
    text: str | None = None
    seq_length: int | None = None


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    """One server's options: one field per config.SERVE entry, checked."""

    weights: str | tuple[str, ...] | None = None
    checkpoint_dir: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    allow_origin: str | tuple[str, ...] | None = None
    max_length: int = 10000
    max_samples: int = 8
    max_items: int = 100
    max_prime: int = 4000
    max_body: int = 65536
    max_streams: int = 256
