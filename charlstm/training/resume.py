"""--resume and --init-from: what a run takes from the checkpoint it starts from.

char-rnn's rule is ours too: the checkpoint's options override the command's. Each setting
has a resume rule, declared with it in charlstm.config (RESUME_RULES):

- fixed (the model, the data, the file names): the checkpoint's; another value is refused;
- adjustable: the checkpoint's unless given again; machine and command: never inherited;
- content (the text): the recorded file if it is still there, and it must be the same text.

--resume applies them all (apply_resume_rules) and carries on from the checkpoint's epoch,
best value, clock and time plan (StartPoint) as if the run had never stopped; the checkpoint
folder is the checkpoint's own unless given. --init-from takes only what shapes the model and
its vocabulary (the options marked init); the optimizer and the epochs start afresh.

    >>> from charlstm.config import resolve
    >>> command = resolve({"epochs": 30})              # train.py --resume runs/w.hdf5 --epochs 30
    >>> recorded = {"units": 64, "epochs": 20, "batch_size": 32}
    >>> settings = apply_resume_rules(command, recorded, "runs/w.hdf5")
    >>> settings.units, settings.epochs, settings.batch_size, settings.checkpoint_dir
    (64, 30, 32, 'runs')
    >>> apply_resume_rules(resolve({"units": 256}), recorded, "runs/w.hdf5")
    Traceback (most recent call last):
    ...
    charlstm.errors.UserError: cannot resume with --units 256: 'runs/w.hdf5' was trained with 64
"""

import dataclasses
import glob
import os

from ..checkpoints.format import load_checkpoint
from ..config import BY_NAME, CONTENT, FIXED, unbounded, with_derived
from ..errors import UserError
from ..model.optimizer import COSINE_VARIABLES
from ..text.sources import describe_sources


@dataclasses.dataclass(frozen=True)
class StartPoint:
    """Where a run starts: after `epoch` epochs (0, or the resumed checkpoint's), with the
    best monitored value so far and its file, the seconds trained so far, and the time plan
    it continues (planned_steps, steps_per_second: None where the run plans afresh)."""

    epoch: int = 0
    best_value: float = float("inf")
    best_path: str = None
    elapsed_seconds: float = 0.0
    planned_steps: int = None
    steps_per_second: float = None


def resume_from(settings):
    """(checkpoint, settings) for --resume: settings.resume's checkpoint, and settings with its
    recorded settings taken in by each setting's resume rule (apply_resume_rules); UserError if
    it cannot be resumed or an explicit value contradicts a fixed setting."""
    path = settings.resume
    checkpoint = load_checkpoint(path)
    if not checkpoint.has_training_state:
        raise UserError(
            f"'{path}' has no optimizer state, so it cannot be resumed (a legacy file, "
            "or one written before --resume existed)"
        )
    try:
        recorded = checkpoint.metadata.settings()
    except KeyError as error:
        raise UserError(f"'{path}' does not record its setting {error}") from None
    # The values were checked when the file was read; resuming also needs where it stopped.
    loss_key = "val_loss" if recorded["monitor"] == "val_loss" else "loss"
    for key in ("epoch", loss_key, "text_sha256", "text_name", "text_length"):
        if checkpoint.metadata.get(key) is None:
            raise UserError(f"weights file '{path}' is damaged: its metadata has no {key}")
    settings = apply_resume_rules(settings, recorded, path, checkpoint.metadata.get("text_path"))
    done = checkpoint.metadata["epoch"]
    if settings.epochs <= done:
        raise UserError(f"'{path}' has already trained {done} epochs: "
                        f"give --epochs more than {done} to train further")
    check_budget_left(settings, checkpoint.metadata, path)
    return checkpoint, settings


def initialise_from(settings):
    """(checkpoint, settings) for --init-from: its checkpoint, and settings with what shapes
    the model and its vocabulary (the options marked init in charlstm.config) taken from it;
    UserError for an explicit value that contradicts it, or a file that cannot start a run."""
    path = settings.init_from
    if settings.resume:
        raise UserError("give --init-from or --resume, not both: --resume continues a run, "
                        "--init-from starts a new one from a checkpoint's weights")
    checkpoint = load_checkpoint(path)
    if checkpoint.is_legacy:
        raise UserError(f"--init-from '{path}' has no charlstm metadata, so its vocabulary is "
                        "unknown: start from a checkpoint that train.py wrote")
    try:
        recorded = checkpoint.metadata.settings()
    except KeyError as error:
        raise UserError(f"'{path}' does not record its setting {error}") from None
    changes = {}
    for option in (option for option in BY_NAME.values() if option.init):
        value, given = recorded[option.name], getattr(settings, option.name)
        if option.name in settings.explicit and given != value:
            if option.const is not None:
                trained = "with" if value == option.const else "without"
                raise UserError(f"--init-from '{path}' was trained {trained} "
                                f"{option.flag_name}, which it fixes: leave it out")
            raise UserError(f"--init-from '{path}' was trained with {option.flag_name} "
                            f"{value}, which it fixes: leave out {option.flag_name} {given}")
        changes[option.name] = value
    return checkpoint, dataclasses.replace(settings, **changes)


def apply_resume_rules(settings, recorded, checkpoint_path, recorded_text=None):
    """settings with what a checkpoint recorded taken in, by each setting's resume rule:
    recorded ({name: value}, FIXED and ADJUSTABLE settings) fills what was not given, and an
    explicit value that contradicts a fixed one is a UserError. The text is the recorded
    file when it still exists and none was given (CONTENT: the caller compares what it
    holds), and the checkpoint folder is the checkpoint's own unless given."""
    changes = {}
    for name, value in recorded.items():
        setting = BY_NAME[name]
        given = getattr(settings, name)
        if name in settings.explicit and setting.resume == FIXED and given != value:
            if setting.const is not None and given == setting.const:
                raise UserError(f"cannot resume with {setting.flag_name}: "
                                f"'{checkpoint_path}' was trained without it")
            raise UserError(f"cannot resume with {setting.flag_for(given)}: "
                            f"'{checkpoint_path}' was trained with {value}")
        if name == "epochs" and "minutes" in settings.explicit and settings.minutes:
            continue  # a new budget: --epochs bounds it only if given now (resolve's rule)
        if name not in settings.explicit:
            changes[name] = value
    assert BY_NAME["text"].resume == CONTENT
    paths = (recorded_text,) if isinstance(recorded_text, str) else recorded_text or ()
    # A pattern need not exist as a path: it is matched again.
    there = [path for path in paths if os.path.lexists(path) or glob.has_magic(path)]
    if "text" not in settings.explicit and paths and len(there) == len(paths):
        for path in paths:
            if os.path.lexists(path) and not (os.path.isfile(path) or os.path.isdir(path)):
                # A FIFO gave its text once; opening it again would wait for a writer for ever.
                raise UserError(f"'{checkpoint_path}' was trained on '{path}', which is not "
                                "a regular file and cannot be read again: give --text with "
                                "the same text")
        changes["text"] = recorded_text
    if "checkpoint_dir" not in settings.explicit:
        changes["checkpoint_dir"] = os.path.dirname(checkpoint_path) or "."
    return with_derived(dataclasses.replace(settings, **changes))


def continues_plan(settings, metadata):
    """Whether a resumed --minutes cosine run keeps its checkpoint's time plan: it has one,
    and the budget is the same (a new --minutes plans the rest afresh)."""
    return bool(settings.minutes and settings.lr_schedule == "cosine"
                and metadata.get("planned_steps") and metadata.get("minutes") == settings.minutes)


def check_budget_left(settings, metadata, path):
    """UserError where a resumed run has no time or steps left to train (or no limit at
    all)."""
    if settings.max_steps:
        steps = metadata.get("steps") or 0
        if steps >= settings.max_steps:
            raise UserError(f"'{path}' has already trained {steps} steps (--max-steps "
                            f"{settings.max_steps}): give a larger --max-steps to train "
                            "further")
    if not settings.minutes:
        if unbounded(settings.epochs) and not settings.max_steps:
            raise UserError(f"'{path}' was trained for a time, not a number of epochs: give "
                            "--minutes, --max-steps or --epochs to train further")
        return
    elapsed = metadata.get("elapsed_seconds") or 0.0  # older files: counted from now
    if continues_plan(settings, metadata):
        planned = metadata["planned_steps"]
        if (metadata.get("steps") or 0) >= planned:
            raise UserError(f"'{path}' has already trained the {planned} steps its "
                            f"{settings.minutes:g}-minute budget planned: give a larger "
                            "--minutes to train further")
    elif elapsed >= settings.minutes * 60:
        raise UserError(f"'{path}' has already trained {elapsed / 60:.2f} minutes: give "
                        f"--minutes more than that to train further")


def start_point(settings, checkpoint):
    """Where the run starts: from scratch, or after the resumed checkpoint's epoch."""
    if checkpoint is None:
        return StartPoint()
    metadata = checkpoint.metadata
    plan = continues_plan(settings, metadata)
    return StartPoint(metadata["epoch"],
                      metadata["val_loss" if settings.monitor == "val_loss" else "loss"],
                      checkpoint.path, metadata.get("elapsed_seconds") or 0.0,
                      metadata["planned_steps"] if plan else None,
                      metadata.get("steps_per_second") if plan else None)


def cosine_end(settings, start, step_limit):
    """The step at which the cosine ends as the run starts: the --epochs limit; with
    --minutes, the plan the run continues, else the --epochs limit if there is one, else 0
    (not planned yet: the time plan sets it in the run's first steps)."""
    if not settings.minutes:
        return step_limit
    return start.planned_steps or step_limit or 0


def restored_names(settings, checkpoint, start):
    """(skip, absent) for restore_training_state: the optimizer variables a resumed run sets
    itself (a new --learning-rate; the cosine's end and re-plan anchor unless the run continues
    its plan), and those older files do not have."""
    # A new --learning-rate takes effect on resume; otherwise plateau's lowered rate is the
    # checkpoint's (the recorded setting is only where it started).
    keep_rate = settings.lr_schedule == "plateau" and "learning_rate" not in settings.explicit
    skip = () if keep_rate else ("learning_rate",)
    if not start.planned_steps:
        skip += COSINE_VARIABLES
    version = checkpoint.metadata.format_version
    absent = COSINE_VARIABLES if version < 5 else COSINE_VARIABLES[1:] if version < 7 else ()
    return skip, absent


def check_same_text(checkpoint, corpus, text):
    """Refuse to resume on another text: name the characters, files or length that differ."""
    metadata = checkpoint.metadata
    vocabulary = corpus.vocabulary
    shown = describe_sources(text)
    if vocabulary != checkpoint.vocabulary:
        added = "".join(sorted(set(vocabulary.chars) - set(checkpoint.vocabulary.chars)))
        missing = "".join(sorted(set(checkpoint.vocabulary.chars) - set(vocabulary.chars)))
        raise UserError(
            f"cannot resume on {shown}: its vocabulary differs from the checkpoint's "
            f"(new characters {added!r}, missing {missing!r})"
        )
    if corpus.sha256 != metadata["text_sha256"]:
        raise UserError(
            f"cannot resume on {shown} ({len(corpus)} characters): '{checkpoint.path}' "
            f"was trained on another text, {metadata['text_name']} "
            f"({metadata['text_length']} characters){_documents_changed(checkpoint, corpus)}"
        )


def _documents_changed(checkpoint, corpus):
    """'; files added: ..., removed: ..., changed: ...' when both record their documents."""
    recorded = {name: (size, length) for name, size, length
                in checkpoint.metadata.get("documents") or []}
    if not recorded:
        return ""
    now = {document.name: (document.size, document.length) for document in corpus.documents}
    changes = [(what, sorted(names)) for what, names in (
        ("added", set(now) - set(recorded)), ("removed", set(recorded) - set(now)),
        ("changed", {name for name in set(now) & set(recorded) if now[name] != recorded[name]}))
        if names]
    return "".join(f"; files {what}: {', '.join(names[:10])}" for what, names in changes)


def in_vocabulary(corpus, init, shown):
    """The corpus's indices in --init-from's vocabulary; UserError naming the characters the
    checkpoint does not know. They are not dropped or mapped: leaving letters out of a
    training text changes what the model learns from it, and a mapping is the user's to
    choose (clean the text, or train from scratch on it)."""
    vocabulary = init.vocabulary
    unknown = vocabulary.unknown_characters(corpus.vocabulary.chars)
    if unknown:
        listed = " ".join(repr(char) for char in unknown[:30])
        more = f" and {len(unknown) - 30} more" if len(unknown) > 30 else ""
        cased = any(char.lower() in vocabulary.char_to_index for char in unknown
                    if char != char.lower())
        hint = (" (the checkpoint was trained lower-cased: leave out --keep-case)" if cased
                else "")
        raise UserError(
            f"--init-from '{init.path}' does not know {len(unknown)} character(s) of "
            f"{shown}: {listed}{more}{hint}; remove or replace them in the text, or train "
            "a new model on it without --init-from")
    mapping = vocabulary.encode_known(corpus.vocabulary.chars)
    return dataclasses.replace(corpus, vocabulary=vocabulary,
                               indices=mapping[corpus.indices].astype(vocabulary.dtype))
