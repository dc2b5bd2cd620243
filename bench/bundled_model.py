"""Make the bundled model (charlstm/bundled/alice.hdf5) with the project's own command, and
measure it: train.py --preset fast (ten minutes) with a tenth of the book held out, take the
checkpoint generate.py would take (the lowest held-out loss), and copy it without its
optimizer state (a third of the file; the bundled model is for generation, evaluation and
--init-from, never --resume) and with the text's path as the bare name wonderland.txt (not
this machine's path). Then score the copy as evaluate.py does: the tutorial's loss on every
stride-1 window of the held-out tail.

    python bench/bundled_model.py                       # train (10 minutes), copy, score
    python bench/bundled_model.py --from-run /tmp/run   # copy and score a finished run's best
"""

import argparse
import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import common

import h5py  # noqa: E402

from charlstm.checkpoints.run_folder import BUNDLED_MODEL, find_best_checkpoint  # noqa: E402

SEED = 2026
HELD_OUT = 0.1
TRAIN_COMMAND = ["train.py", "--preset", "fast", "--seed", str(SEED),
                 "--validation-split", "0.1"]


def train(folder):
    command = [sys.executable, os.path.join(common.ROOT, TRAIN_COMMAND[0]), *TRAIN_COMMAND[1:],
               "--checkpoint-dir", folder]
    started = time.time()
    subprocess.run(command, check=True, cwd=common.ROOT)
    return time.time() - started


def copy_for_generation(source, output):
    """source without its training state, its metadata's text_path made the bare name."""
    os.makedirs(os.path.dirname(output), exist_ok=True)
    temporary = output + ".tmp"
    with h5py.File(source, "r") as reading, h5py.File(temporary, "w") as writing:
        for key, value in reading.attrs.items():
            writing.attrs[key] = value
        for name in reading:
            if name != "charlstm_training_state":
                reading.copy(name, writing)
        metadata = json.loads(writing.attrs["charlstm"])
        metadata["text_path"] = os.path.basename(metadata["text_path"])
        writing.attrs["charlstm"] = json.dumps(metadata)
    os.replace(temporary, output)
    return metadata


def score(weights):
    """evaluate.py's loss on every window of the held-out tail alone (scoring the whole book
    as well, as evaluate.py --held-out does, takes ten times longer for the same figure):
    the tail, as the prepared text the checkpoint carries, written out and scored."""
    import charlstm

    checkpoint = charlstm.load(weights).checkpoint
    indices = checkpoint.seed_text
    tail = indices[len(indices) - int(round(len(indices) * HELD_OUT)):]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "held-out-tail.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(checkpoint.vocabulary.decode(tail))
        with contextlib.redirect_stdout(io.StringIO()):
            (part,) = charlstm.evaluate(weights, text=path, all=True, verbose=0)
    return part


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from-run", metavar="DIR", help="a finished run of the command "
                        "above: copy its best checkpoint instead of training")
    parser.add_argument("--output", default=BUNDLED_MODEL, help="where the copy goes")
    parser.add_argument("--results", default=os.path.join(common.ROOT, "bench", "results",
                                                          "bundled_model.txt"))
    arguments = parser.parse_args()
    folder = arguments.from_run or os.path.join("/tmp", f"charlstm-bundled-{os.getpid()}")
    seconds = None if arguments.from_run else train(folder)
    best = find_best_checkpoint(folder)
    metadata = copy_for_generation(best, arguments.output)
    held_out = score(arguments.output)
    lines = [
        f"bundled model: {os.path.relpath(arguments.output, common.ROOT)} "
        f"({os.path.getsize(arguments.output):,} bytes), copied from {os.path.basename(best)}",
        "command: python " + " ".join(TRAIN_COMMAND) + " --checkpoint-dir DIR",
        f"seed {metadata['random_seed']}; {metadata['steps']} steps in "
        f"{metadata['elapsed_seconds']:.0f} s of training by epoch {metadata['epoch']}"
        + (f"; the whole run took {seconds:.0f} s" if seconds else ""),
        f"machine: {common.cpu_name()}",
        f"held-out tail (the book's last 10%, never trained on): loss {held_out.loss:.4f} "
        f"nats/character ({held_out.loss / math.log(2):.4f} bits) on all "
        f"{held_out.windows:,} windows",
    ]
    common.save_table("\n".join(lines), arguments.results)


if __name__ == "__main__":
    main()
