"""Run train.py, --resume, generate.py, evaluate.py and a --minutes run in one process (also
for --cell gru on an embedding), on the Keras backend
that KERAS_BACKEND names (tests/system/test_backends.py starts it once per backend: starting the
interpreter and a backend costs more than the work). Prints a JSON object of what each
command printed and its exit status.

    KERAS_BACKEND=jax python tests/backend_client.py TEXT FOLDER
"""

import contextlib
import io
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from charlstm.checkpoints.run_folder import find_best_checkpoint  # noqa: E402
from charlstm.cli import evaluate_main, generate_main, train_main  # noqa: E402


def command(main, *argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv), prog=main.__name__)
            status = 0
        except SystemExit as exit:
            status = exit.code
    return {"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()[-3000:]}


def main():
    text, folder = sys.argv[1:3]
    results = {"train": command(train_main, "--text", text, "--seq-length", "10", "--units",
                                "16", "--batch-size", "16", "--learning-rate", "0.02",
                                "--seed", "1", "--checkpoint-dir", folder, "--epochs", "2")}
    best = results["best"] = find_best_checkpoint(folder)
    results["resume"] = command(train_main, "--resume", best, "--epochs", "3")
    for name, flags in (("greedy", []), ("sampled", ["--temperature", "1", "--seed", "3"]),
                        ("stateful", ["--stateful"])):
        results[name] = command(generate_main, "--weights", best, "--prime", "alice was ",
                                "--raw", "--length", "40", *flags)
    results["evaluate"] = command(evaluate_main, "--weights", best)
    # The training controls: a schedule, AdamW, the average, early stopping, then --resume.
    controls = os.path.join(folder, "controls")
    results["controls"] = command(
        train_main, "--text", text, "--seq-length", "10", "--units", "16", "--batch-size",
        "16", "--seed", "1", "--checkpoint-dir", controls, "--epochs", "2", "--lr-schedule",
        "cosine", "--warmup-steps", "5", "--weight-decay", "0.1", "--ema", "0.9",
        "--early-stopping", "2", "--validation-split", "0.3", "--monitor", "val_loss")
    results["controls_resume"] = command(train_main, "--resume", find_best_checkpoint(controls),
                                         "--epochs", "3")
    # --cell gru on an embedding (the TensorFlow tutorial's layers, tiny), resumed, and both
    # decoders.
    gru = os.path.join(folder, "gru")
    results["gru"] = command(
        train_main, "--text", text, "--seq-length", "10", "--units", "16", "--batch-size", "16",
        "--learning-rate", "0.02", "--seed", "1", "--checkpoint-dir", gru, "--epochs", "2",
        "--cell", "gru", "--input-encoding", "embedding", "--embedding-size", "8")
    results["gru_resume"] = command(train_main, "--resume", find_best_checkpoint(gru),
                                    "--epochs", "3")
    results["gru_best"] = find_best_checkpoint(gru)
    for name, flags in (("gru_greedy", []), ("gru_stateful", ["--stateful"])):
        results[name] = command(generate_main, "--weights", results["gru_best"], "--prime",
                                "alice was ", "--raw", "--length", "40", *flags)
    # A time budget whose cosine is planned mid-epoch: the plan must reach the compiled step
    # (JAX passes the optimizer's state in), so the last row's learning rate is 0.
    budget = os.path.join(folder, "budget")
    results["budget"] = command(
        train_main, "--text", text, "--seq-length", "10", "--units", "16", "--batch-size", "16",
        "--seed", "1", "--checkpoint-dir", budget, "--minutes", "0.05", "--lr-schedule",
        "cosine", "--steps-per-epoch", "20")
    with open(os.path.join(budget, "history.csv")) as handle:
        results["budget"]["last_learning_rate"] = handle.read().splitlines()[-1].split(",")[3]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
