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

import io
import os
import warnings

import numpy as np

from ..errors import UserError
from ..system.files import check_output, write_atomically
from ..checkpoints.history import read_rows

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
    """(epochs, losses, [(epoch, val_loss)], [(epoch, monitored value) of checkpoints]), read
    by history.read_rows."""
    epochs, losses, validation, checkpoints = [], [], [], []
    for row in read_rows(path):
        epoch, loss = int(row["epoch"]), float(row["loss"])
        val_loss = float(row["val_loss"]) if row.get("val_loss") else None
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
    UserError for a missing or malformed file, an output that is not a regular file or is
    one of the histories, losses matplotlib cannot draw, or when matplotlib is not
    installed."""
    if not paths:
        raise UserError("give at least one history.csv file to plot")
    paths = [os.fspath(path) for path in paths]
    histories = [read_history(path) for path in paths]
    output = os.fspath(output) if output is not None else default_output(paths)
    inputs = [("history file", path) for path in paths]
    check_output(output, "plot", inputs)
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
    picture = io.BytesIO()
    try:
        with warnings.catch_warnings():  # an overflow warning before the error: one line
            warnings.simplefilter("ignore", RuntimeWarning)
            draw(figure.add_subplot(), labels, histories)
            figure.savefig(picture, format="png")
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as error:
        # Losses near the float limit (1e308) break matplotlib's axis transforms.
        largest = max(max(losses) for _, losses, _, _ in histories)
        raise UserError(f"cannot draw '{output}': matplotlib failed on its losses (up to "
                        f"{largest:.3g}): {error}") from None
    try:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot write plot '{output}': {error.strerror}") from None
    # Like a checkpoint: never half-written, and a killed writer's temporary file is removed
    # when the next run starts in the folder.
    write_atomically(output, picture.getvalue(), what="plot", inputs=inputs)
    return output


def draw(axes, labels, histories):
    """Each history's loss and val_loss lines, its checkpoints circled, and the tutorial's
    losses as reference lines."""
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
