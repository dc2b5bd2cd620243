"""Loss plots: a run's history.csv as a picture. Training loss (solid) and validation loss
(dashed) by epoch, the epochs that wrote a checkpoint circled, and the tutorial's reported
losses (1.9435 small, 1.2219 bigger) as dotted reference lines; several files share one
picture, to compare runs.

train.py draws history.png beside history.csv at the end of every run (a resumed one too).
It needs matplotlib, an optional extra (pip install matplotlib, or pip install ".[plot]"):
without it the run says how to get the picture, and nothing fails. The figure is drawn
without pyplot, so a notebook's own plotting is left as it was.

    python plot.py runs/history.csv                       # writes runs/history.png
    python plot.py a/history.csv b/history.csv --output compare.png

    >>> default_output(["runs/history.csv"])
    'runs/history.png'
"""

import csv
import io
import os

from .files import write_atomically
from .errors import UserError

# What the tutorial reported for its two models' final training loss.
TUTORIAL_LOSSES = (("tutorial small", 1.9435), ("tutorial bigger", 1.2219))
MISSING_MATPLOTLIB = ("matplotlib is not installed: pip install matplotlib (or pip install "
                      "\".[plot]\"), then python plot.py {history}")


def default_output(paths):
    """One file: its own name with .png. Several: compare.png beside the first."""
    if len(paths) == 1:
        return os.path.splitext(paths[0])[0] + ".png"
    return os.path.join(os.path.dirname(paths[0]), "compare.png")


def read_history(path):
    """(epochs, losses, [(epoch, val_loss)], [(epoch, monitored value) of checkpoints])."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise UserError(f"history file '{path}': {error.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"history file '{path}' is not a CSV file ({error})") from None
    if rows and not {"epoch", "loss"} <= set(rows[0]):
        raise UserError(f"'{path}' is not a history.csv: it has no epoch and loss columns")
    epochs, losses, validation, checkpoints = [], [], [], []
    for row in rows:
        try:
            epoch, loss = int(row["epoch"]), float(row["loss"])
            val_loss = float(row["val_loss"]) if row.get("val_loss") else None
        except (TypeError, ValueError):
            raise UserError(f"'{path}' has a row that is not numbers: {row}") from None
        epochs.append(epoch)
        losses.append(loss)
        if val_loss is not None:
            validation.append((epoch, val_loss))
        if row.get("checkpoint"):
            # The monitored value: file names carry -val- when val_loss was monitored.
            monitored = val_loss if "-val-" in row["checkpoint"] and val_loss is not None else loss
            checkpoints.append((epoch, monitored))
    if not epochs:
        raise UserError(f"'{path}' has no epochs yet")
    return epochs, losses, validation, checkpoints


def plot_histories(paths, output=None, labels=None):
    """Draw the history files into one PNG (default: default_output(paths)); returns its path.
    UserError for a missing or malformed file, or when matplotlib is not installed."""
    histories = [read_history(path) for path in paths]
    output = output or default_output(paths)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError(MISSING_MATPLOTLIB.format(history=" ".join(paths))) from None
    if labels is None:
        labels = [os.path.dirname(os.path.abspath(path)).rsplit(os.sep, 1)[-1] + "/"
                  + os.path.basename(path) for path in paths] if len(paths) > 1 else [""]
    figure = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    circled = False
    for label, (epochs, losses, validation, checkpoints) in zip(labels, histories):
        prefix = f"{label} " if label else ""
        (line,) = axes.plot(epochs, losses, marker=".", label=f"{prefix}loss")
        color = line.get_color()
        if validation:
            axes.plot(*zip(*validation), linestyle="--", marker=".", color=color,
                      label=f"{prefix}val_loss")
        if checkpoints:
            axes.scatter(*zip(*checkpoints), s=80, facecolors="none", edgecolors=color,
                         label=None if circled else "checkpoint written")
            circled = True
    for name, value in TUTORIAL_LOSSES:
        axes.axhline(value, color="gray", linestyle=":", linewidth=1)
        axes.annotate(f"{name} {value}", (0, value), xycoords=("axes fraction", "data"),
                      xytext=(4, 3), textcoords="offset points", color="gray", fontsize=8)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss (cross-entropy, nats a character)")
    axes.grid(alpha=0.3)
    axes.legend()
    picture = io.BytesIO()
    figure.savefig(picture, format="png")
    try:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot write plot '{output}': {error.strerror}") from None
    # Like a checkpoint: never half-written, and a killed writer's temporary file is removed
    # when the next run starts in the folder.
    write_atomically(output, picture.getvalue(), what="plot")
    return output
