"""A checkpoint's record of its run: built from the run's settings and text, stamped with
each epoch's result, serialised as the JSON of the file's "charlstm" attribute, and checked
field by field when it is read back. One type does all four, so the record has one shape.

Settings are recorded under their metadata keys (charlstm.config: seed is "random_seed",
text is "text_path", for older files); the record adds the vocabulary, the text's name,
length and sha256, and per checkpoint the epoch, loss and val_loss.

    >>> from charlstm.config import resolve
    >>> settings = resolve({"seed": 5, "text": "/texts/abc.txt"})
    >>> record = Metadata.for_run(settings, vocabulary="abc", text_length=30,
    ...                           text_sha256="0" * 64)
    >>> saved = record.at_epoch(3, 1.5)
    >>> saved["epoch"], saved["random_seed"], saved["text_name"]
    (3, 5, 'abc.txt')
    >>> Metadata.from_json(saved.to_json()).settings()["seed"]
    5
    >>> Metadata.from_json('{"vocabulary": "aa"}')
    Traceback (most recent call last):
    ...
    ValueError: its metadata has no seq_length
"""

import collections.abc
import json
import os

from ..config import (ADJUSTABLE, BY_NAME, FIXED, LONGEST_NUMBER, SETTINGS, check_value,
                      non_negative_float, non_negative_int, positive_int)

FORMAT_VERSION = 7  # 2: training state group, idea and resume settings; 3: text_in_checkpoint;
#                    4: lr_schedule, warmup_steps, weight_decay, ema, early_stopping;
#                    5: the text's rules (encoding, keep_case, keep_boilerplate), documents,
#                    init_from; cell and embedding_size; minutes and the time plan
#                    6: documents_mode (--documents lines)
#                    7: the cosine's re-plan anchor (optimizer variables cosine_from_*)
# What generation needs from a record (the other settings are checked when present).
REQUIRED = ("vocabulary", "seq_length", "layers", "units", "dropout", "input_encoding")
# The other fields, checked as the settings are: an epoch's result, the text it was trained
# on, the file's format.
RESULTS = (("epoch", positive_int), ("loss", non_negative_float),
           ("val_loss", non_negative_float), ("text_length", non_negative_int),
           ("format_version", positive_int),
           # Since format 5, the run's clock (training.callbacks.TimeBudget): the seconds of
           # training and the steps up to this checkpoint, and a --minutes cosine run's plan
           # (the step at which the cosine ends, the steps a second it was planned from).
           ("elapsed_seconds", non_negative_float), ("steps", non_negative_int),
           ("planned_steps", positive_int), ("steps_per_second", non_negative_float))
TEXTS = ("text_name", "text_sha256", "init_from")  # text fields: a string when present


class Metadata(collections.abc.Mapping):
    """A read-only mapping of a checkpoint's metadata keys to their values."""

    def __init__(self, fields):
        self._fields = dict(fields)

    def __getitem__(self, key):
        return self._fields[key]

    def __iter__(self):
        return iter(self._fields)

    def __len__(self):
        return len(self._fields)

    def __repr__(self):
        return f"Metadata({self._fields!r})"

    @classmethod
    def for_run(cls, settings, vocabulary, text_length, text_sha256, documents=(),
                init_from=None):
        """The record every checkpoint of a run shares: its recorded settings (settings.text,
        the text's full paths, so that --resume finds it from any folder), its text and its
        documents ([name, bytes, characters] each, charlstm.text.sources), and the checkpoint
        --init-from started it from."""
        fields = {setting.key: getattr(settings, setting.name) for setting in SETTINGS
                  if setting.recorded}
        paths = (settings.text,) if isinstance(settings.text, str) else settings.text
        fields.update(vocabulary=vocabulary,
                      text_name=", ".join(os.path.basename(path) for path in paths),
                      text_length=text_length, text_sha256=text_sha256,
                      documents=[list(document) for document in documents])
        if init_from:
            fields["init_from"] = init_from
        return cls(fields)

    def at_epoch(self, epoch, loss, val_loss=None, clock=None):
        """This record as one epoch's checkpoint holds it; clock: the run's clock fields
        (elapsed_seconds, steps, planned_steps, steps_per_second) at that point."""
        return Metadata(dict(self._fields, epoch=epoch, loss=loss, val_loss=val_loss,
                             **(clock or {})))

    def to_json(self):
        return json.dumps(dict(self._fields, format_version=FORMAT_VERSION))

    @property
    def format_version(self):
        return self._fields.get("format_version", 1)

    def settings(self, rules=(FIXED, ADJUSTABLE)):
        """{name: value} of the recorded settings under the given resume rules; KeyError
        naming the key a file does not record. A setting newer than the file's format takes
        its default, or what the code that wrote the file did where that differs
        (Option.before)."""
        return {setting.name: self._fields[setting.key]
                if setting.key in self._fields or self.format_version >= setting.since
                else setting.older_files_value
                for setting in SETTINGS if setting.resume in rules}

    def setting(self, name):
        """One setting's recorded value, or its default where the file does not record it
        (older formats); for reading a file, where the weights' shapes check the rest."""
        setting = BY_NAME[name]
        return self._fields.get(setting.key, setting.default)

    @classmethod
    def from_json(cls, raw):
        """The record in a file's attribute, every field checked (and converted) as its flag
        would be; ValueError saying what is wrong otherwise."""
        try:
            fields = json.loads(raw, parse_int=_bounded_int)
        except _TooLong as error:
            raise ValueError(str(error)) from None
        except (TypeError, ValueError):
            raise ValueError("its metadata is not JSON") from None
        if not isinstance(fields, dict):
            raise ValueError("its metadata is not a JSON object")
        missing = [key for key in REQUIRED if key not in fields]
        if missing:
            raise ValueError(f"its metadata has no {missing[0]}")
        chars = fields["vocabulary"]
        if not isinstance(chars, str) or not chars:
            raise ValueError("its vocabulary is not a text of one or more characters")
        if len(set(chars)) != len(chars):
            raise ValueError("its vocabulary repeats a character")
        for setting in SETTINGS:
            if setting.recorded and setting.key in fields:
                fields[setting.key] = setting.check(fields[setting.key])  # UserError: ValueError
        for key, check in RESULTS:
            if fields.get(key) is not None:
                fields[key] = check_value(key, check, fields[key])
        for key in TEXTS:
            if key in fields and not isinstance(fields[key], str):
                raise ValueError(f"{key}: {fields[key]!r} is not a text")
        if not _documents_record(fields.get("documents", [])):
            raise ValueError("its documents are not a list of [name, bytes, characters]")
        return cls(fields)


class _TooLong(ValueError):
    """A number in the metadata too long to convert (json would raise a bare ValueError)."""


def _bounded_int(text):
    """json's parse_int, with the text's length checked before int() converts it."""
    if len(text) > LONGEST_NUMBER:
        raise _TooLong(f"its metadata holds a number of {len(text):,} digits")
    return int(text)


def _documents_record(documents):
    """Whether a documents field is a list of [name, bytes, characters]."""
    def whole(number):
        return isinstance(number, int) and not isinstance(number, bool) and number >= 0

    return isinstance(documents, list) and all(
        isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)
        and whole(entry[1]) and whole(entry[2]) for entry in documents)
