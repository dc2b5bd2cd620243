"""Your own texts, measured: --preset fast --keep-case --validation-split 0.1 for a budget of
wall-clock minutes on each of these texts nobody here wrote or tuned for:

  json       the Python standard library's json package (a folder of .py files)
  email      the Python standard library's email package (a bigger folder)
  http       the Python standard library's http package (the text of issue 29's report)
  gutenberg  wonderland.txt wrapped as Project Gutenberg serves it: its header, START line,
             the book, END line and licence (made here; the header and footer are removed)

--presets "tutorial fast" compares recipes on the same texts, minutes and seeds: "tutorial" is
the tutorial's small model (train.py with no --preset), each run interleaved with the other.
train.py's advice for own texts quotes that comparison (bench/results/own_texts_presets.txt).

For each text, recipe and seed: the held-out loss in nats and bits per character on every stride-1
held-out window (the held-out part is whole files for the folders, the book's last 10% for
the Gutenberg file), a 300-character sample at temperature 0.5 and the first 100 characters
of the greedy one (the tutorial's decoding). Texts are run seed by
seed, interleaved, so that a slower stretch of a shared machine does not fall on one text.

    python bench/own_texts.py                         # 10 minutes a run, 1 seed: 30 minutes
    python bench/own_texts.py --seeds 3               # mean and spread over 3 seeds
    python bench/own_texts.py --minutes 0.2 --texts json --output /tmp/smoke.txt   # a smoke run
    python bench/own_texts.py --texts http --minutes 2 --presets "tutorial fast" --seeds 2 \
        --output bench/results/own_texts_presets.txt      # the tutorial's model vs the preset
"""

import argparse
import email
import http
import json
import os
import statistics
import sys
import tempfile
import time

import common  # noqa: F401  (the project on the import path)

import numpy as np  # noqa: E402

import charlstm  # noqa: E402
from charlstm.text.rules import TextRules  # noqa: E402
from charlstm.text.sources import load_sources, split  # noqa: E402

ROOT = common.ROOT
HELD_OUT = 0.1
SAMPLE_LENGTH = 300
GREEDY_LENGTH = 100
TUTORIAL = "tutorial"  # --presets' name for no preset: the tutorial's small model
GUTENBERG_HEADER = (
    "\ufeffThe Project Gutenberg eBook of Alice's Adventures in Wonderland\r\n\r\n"
    "This ebook is for the use of anyone anywhere in the United States and most other parts "
    "of the world at no cost and with almost no restrictions\r\nwhatsoever. You may copy it, "
    "give it away or re-use it under the terms\r\nof the Project Gutenberg License included "
    "with this ebook or online\r\nat www.gutenberg.org.\r\n\r\nTitle: Alice's Adventures in "
    "Wonderland\r\n\r\nAuthor: Lewis Carroll\r\n\r\nRelease date: June 27, 2008 [eBook #11]"
    "\r\n\r\nLanguage: English\r\n\r\n\r\n*** START OF THE PROJECT GUTENBERG EBOOK ALICE'S "
    "ADVENTURES IN WONDERLAND ***\r\n\r\n\r\n\r\n"
)
GUTENBERG_FOOTER = (
    "\r\n\r\n\r\n*** END OF THE PROJECT GUTENBERG EBOOK ALICE'S ADVENTURES IN WONDERLAND ***"
    "\r\n\r\nUpdated editions will replace the previous one--the old editions will\r\nbe "
    "renamed.\r\n\r\nCreating the works from print editions not protected by U.S. copyright "
    "law means\r\nthat no one owns a United States copyright in these works, so the "
    "Foundation\r\n(and you!) can copy and distribute it in the United States without "
    "permission\r\nand without paying copyright royalties.\r\n\r\nSTART: FULL LICENSE\r\n\r\n"
    "THE FULL PROJECT GUTENBERG LICENSE\r\nPLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS "
    "WORK\r\n\r\n"
) + ("Section 1. General Terms of Use and Redistributing Project Gutenberg-tm\r\nelectronic "
     "works\r\n\r\n1.A. By reading or using any part of this Project Gutenberg-tm\r\n"
     "electronic work, you indicate that you have read, understand, agree to\r\nand accept "
     "all the terms of this license and intellectual property\r\n(trademark/copyright) "
     "agreement.\r\n\r\n") * 30


def gutenberg_copy(folder):
    """wonderland.txt inside a Project Gutenberg header and footer, in folder."""
    with open(os.path.join(ROOT, "wonderland.txt"), "rb") as handle:
        book = handle.read().decode("utf-8-sig")
    path = os.path.join(folder, "pg11.txt")
    with open(path, "wb") as handle:
        handle.write((GUTENBERG_HEADER + book + GUTENBERG_FOOTER).encode("utf-8"))
    return path


def texts(folder):
    return {"json": os.path.dirname(json.__file__),
            "email": os.path.dirname(email.__file__),
            "http": os.path.dirname(http.__file__),
            "gutenberg": gutenberg_copy(folder)}


def held_out_loss(weights, text):
    """Mean cross-entropy (nats) of every stride-1 held-out window, and their number."""
    from charlstm.generation.evaluation import window_losses
    from charlstm.model.models import compiled_forward
    from charlstm.text.windows import input_table, pattern_count

    loaded = charlstm.load(weights)
    checkpoint = loaded.checkpoint
    corpus = load_sources(text, TextRules(keep_case=True))
    mapping = checkpoint.vocabulary.encode(corpus.vocabulary.chars)
    corpus.indices = mapping[corpus.indices]
    _, held_out, _ = split(corpus, HELD_OUT)
    starts = np.arange(pattern_count(len(held_out), checkpoint.seq_length))
    table = input_table(checkpoint.topology.vocab_size, checkpoint.topology.input_encoding)
    losses = window_losses(compiled_forward(loaded.model), table, held_out,
                           checkpoint.seq_length, starts, batch_size=1024)
    return float(losses.mean()), len(starts)


def one_run(name, text, seed, minutes, folder, preset="fast"):
    runs = os.path.join(folder, f"{name}-{preset}-{seed}")
    started = time.perf_counter()
    result = charlstm.train(text=text, preset=None if preset == TUTORIAL else preset,
                            keep_case=True, validation_split=HELD_OUT, minutes=minutes,
                            seed=seed, checkpoint_dir=runs, verbose=0)
    seconds = time.perf_counter() - started
    loss, windows = held_out_loss(result.best_checkpoint, text)
    sample = charlstm.generate(result.best_checkpoint, temperature=0.5, length=SAMPLE_LENGTH,
                               seed=seed, verbose=0)
    greedy = charlstm.generate(result.best_checkpoint, temperature=0.0, length=GREEDY_LENGTH,
                               seed=seed, stateful=True, verbose=0)
    print(f"{name} {preset} seed {seed}: {loss:.4f} nats, {loss / np.log(2):.4f} bits over "
          f"{windows} windows after {seconds:.0f} s", file=sys.stderr, flush=True)
    return dict(text=name, preset=preset, seed=seed, loss=loss, bits=loss / np.log(2),
                windows=windows, epochs=len(result.history), seconds=seconds, sample=sample,
                greedy=greedy)


def table(results, minutes):
    presets = " or ".join(f"--preset {p}" if p != TUTORIAL else "no preset (the tutorial's "
                          "model)" for p in dict.fromkeys(r["preset"] for r in results))
    lines = [f"{presets}, --keep-case --validation-split 0.1 for {minutes:g} minutes a "
             f"run; held-out loss on every held-out window; machine: {common.cpu_name()}", "",
             f"{'text':10} {'preset':9} {'nats':>16} {'bits per char':>16} {'windows':>8} "
             f"{'epochs':>7}  seeds"]
    for name, preset in dict.fromkeys((r["text"], r["preset"]) for r in results):
        runs = [r for r in results if (r["text"], r["preset"]) == (name, preset)]

        def cell(key):
            values = [r[key] for r in runs]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):.4f} +- {spread:.4f}"

        lines.append(f"{name:10} {preset:9} {cell('loss'):>16} {cell('bits'):>16} "
                     f"{runs[0]['windows']:>8} {runs[0]['epochs']:>7}  {len(runs)}")
    lines.append("")
    for r in results:
        lines += [f"--- {r['text']}, {r['preset']}, seed {r['seed']}, greedy:",
                  repr(r["greedy"]),
                  f"--- {r['text']}, {r['preset']}, seed {r['seed']}, temperature 0.5:",
                  r["sample"], ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", default="json email gutenberg", help="which texts")
    parser.add_argument("--seeds", type=int, default=1, help="seeds a text (default 1)")
    parser.add_argument("--presets", default="fast",
                        help=f"recipes to compare, '{TUTORIAL}' for no preset (default fast)")
    parser.add_argument("--minutes", type=float, default=10.0, help="budget of each run")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results",
                                                         "own_texts.txt"))
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        sources = texts(folder)
        for seed in range(1, args.seeds + 1):
            for name in args.texts.split():
                for preset in args.presets.split():
                    results.append(one_run(name, sources[name], seed, args.minutes, folder,
                                           preset))
    common.save_table(table(results, args.minutes), args.output)
    with open(os.path.splitext(args.output)[0] + ".json", "w") as handle:
        json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
