"""history.csv: one row per completed epoch, written by training (callbacks.HistoryLog) and
read back by a resumed run and by the loss plot. read_rows() is the one reader: every value
is checked by type, and a damaged file is one line naming the file, the row and the field.

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "history.csv")
    >>> _ = open(path, "w").write("epoch,loss,val_loss\\n1,2.5,\\n2,²,\\n")
    >>> read_rows(path)
    Traceback (most recent call last):
    ...
    charlstm.errors.UserError: '...history.csv' has a row that is not numbers: row 2, loss '²' is not a number
"""

import csv
import math
import os

from ..config import too_long_for_a_number
from ..errors import UserError

# An epoch number has at most this many digits (no run reaches 10**18 epochs): checked before
# int() converts it, which Python refuses beyond 4,300 digits.
EPOCH_DIGITS = 18
COLUMNS = ("epoch", "loss", "val_loss", "learning_rate", "seconds", "checkpoint", "device")
# The numeric columns: (name, whether it may be empty). Text columns are kept as they are.
NUMBERS = (("loss", False), ("val_loss", True), ("learning_rate", True), ("seconds", True))


def _checked_row(path, number, row):
    """The row's values as text, each numeric one checked; UserError naming the field."""
    def damaged(name, value, kind):
        what = too_long_for_a_number(value, kind) or f"{value!r} is not {kind}"
        return UserError(f"'{path}' has a row that is not numbers: row {number}, {name} {what}")

    epoch = row.get("epoch")
    if (epoch is None or not (epoch.isascii() and epoch.isdigit()) or len(epoch) > EPOCH_DIGITS
            or int(epoch) < 1):
        raise damaged("epoch", epoch, "an epoch number")
    for name, optional in NUMBERS:
        value = row.get(name)
        if value is None and name != "loss":
            continue  # a column this file does not have
        if optional and value == "":
            continue
        try:
            if too_long_for_a_number(value):
                raise ValueError(value)
            parsed = float(value)
        except (TypeError, ValueError):
            raise damaged(name, value, "a number") from None
        if math.isnan(parsed):
            raise damaged(name, value, "a number")
    return {name: value for name, value in row.items() if name is not None}


def read_rows(path):
    """Every row of a history file as a dict of its texts, checked; UserError for a missing,
    unreadable, non-CSV or damaged file, or one without epoch and loss columns."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = reader.fieldnames or []
    except OSError as error:
        raise UserError(f"history file '{path}': {error.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"history file '{path}' is not a CSV file ({error})") from None
    if not {"epoch", "loss"} <= set(header):
        raise UserError(f"'{path}' is not a history.csv: it has no epoch and loss columns")
    return [_checked_row(path, number, row) for number, row in enumerate(rows, 1)]


def history_name(bigger):
    """The default history file: history.csv, or history-bigger.csv for --bigger, whose
    checkpoints may share a folder with the small model's, as in the tutorial."""
    return "history-bigger.csv" if bigger else "history.csv"


def default_path(checkpoint_dir, bigger):
    return os.path.join(checkpoint_dir, history_name(bigger))
