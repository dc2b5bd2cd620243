"""The page's opening setting, chosen by measurement: which temperature and top-p give the
bundled model's text the most words of the book without looping.

Greedy decoding (the tutorial's, generate.py's default) with the bundled model repeats one
sentence within 1,000 characters, so the page at / opens on a sampled setting instead. For
each setting of a small grid (temperature x top-p, plus greedy) and each seed, this writes
1,000 characters from a random seed window (no prime) with the project's own stateful NumPy
decoder (what the page's engines use), as generate.py --stateful --seed S does, and scores:
  book words   the share of its words (two letters or more) that are words of wonderland.txt
  repeats      whether any 50-character span occurs twice in it
It picks the setting with the highest mean book-word share among those with no repeated span
in any seed; charlstm/serving/pages.py's PAGE_SETTING is that choice (a test keeps the two
equal by reading the results file).

All rows step together in one batch: about 1.5 CPU-minutes for 10 seeds (9 minutes of wall
clock on the 2-core machine at a load of 11).

    python bench/page_setting.py                     # 10 seeds, writes bench/results/...
    python bench/page_setting.py --seeds 1 2 --output ''
"""

import argparse
import os
import time

import numpy as np

from common import ROOT, cpu_name, repeated_span, save_table

from charlstm.system.backend import start_backend

TEMPERATURES = (0.5, 0.6, 0.7, 0.8, 1.0)
TOP_PS = (1.0, 0.95, 0.9, 0.8)
LENGTH = 1000
SPAN = 50
OUTPUT = os.path.join(ROOT, "bench", "results", "page_setting.txt")


def words_of(text):
    """Its words of two letters or more, as bench/time_to_quality.py counts them."""
    import re

    return [word for word in re.findall(r"[a-z]+(?:'[a-z]+)*", text.lower()) if len(word) > 1]


def book_word_share(text, book_words):
    words = words_of(text)
    return sum(word in book_words for word in words) / max(len(words), 1)


def generate_texts(loaded, rows):
    """LENGTH characters for each (temperature, top_p, seed) of rows, each what
    generate.py --stateful --seed S --temperature T --top-p P writes with no prime (its own
    random generator draws its seed window, then one number a character), all rows stepped
    together in one batch, as serve.py steps its streams (charlstm.generation.sampling's
    choose_rows works row by row)."""
    from charlstm.generation.decoders import StatefulDecoder
    from charlstm.generation.generate import random_primes
    from charlstm.generation.sampling import choose_rows

    model, checkpoint, seed_text = loaded
    generators = [np.random.default_rng(seed) for _, _, seed in rows]
    primes = np.concatenate([random_primes(seed_text, checkpoint.seq_length, 1, generator)
                             for generator in generators])
    temperatures = np.array([temperature for temperature, _, _ in rows])
    top_ps = np.array([top_p for _, top_p, _ in rows])
    sampled = np.flatnonzero(temperatures > 0)
    decoder = StatefulDecoder(model, checkpoint.topology)
    probabilities = decoder.start(primes)
    size = probabilities.shape[1]
    chosen = []
    for step in range(LENGTH):
        indices = np.argmax(probabilities, axis=1)  # greedy rows: the tutorial's choice
        draws = np.array([[generators[row].random()] for row in sampled])
        indices[sampled] = choose_rows(probabilities[sampled], temperatures[sampled],
                                       np.full(len(sampled), size), top_ps[sampled], draws)
        chosen.append(indices)
        if step + 1 < LENGTH:
            probabilities = decoder.advance(indices)
    return [checkpoint.vocabulary.decode(row) for row in np.stack(chosen, axis=1)]


def settings():
    yield 0.0, 1.0  # greedy, the tutorial's
    for temperature in TEMPERATURES:
        for top_p in TOP_PS:
            yield temperature, top_p


def measure(seeds):
    from charlstm.checkpoints.loading import load_for_generation
    from charlstm.checkpoints.run_folder import BUNDLED_MODEL
    from charlstm.text.corpus import load_corpus

    loaded = load_for_generation(BUNDLED_MODEL)
    corpus = load_corpus(os.path.join(ROOT, "wonderland.txt"))
    book_words = set(words_of(corpus.vocabulary.decode(corpus.indices)))
    grid = list(settings())
    rows = [(temperature, top_p, seed) for temperature, top_p in grid for seed in seeds]
    texts = dict(zip(rows, generate_texts(loaded, rows)))
    results = []
    for temperature, top_p in grid:
        mine = [texts[temperature, top_p, seed] for seed in seeds]
        shares = [book_word_share(text, book_words) for text in mine]
        looped = sum(repeated_span(text, SPAN) is not None for text in mine)
        results.append(dict(temperature=temperature, top_p=top_p, share=float(np.mean(shares)),
                            lowest=min(shares), looped=looped))
    return results


def choose(rows):
    clean = [row for row in rows if row["looped"] == 0]
    return max(clean, key=lambda row: row["share"]) if clean else None


def table(rows, chosen, seeds, seconds):
    lines = [f"# bench/page_setting.py: the page's opening setting, bundled model "
             f"(charlstm/bundled/alice.hdf5), {LENGTH:,} characters from a random seed window "
             f"(no prime), stateful NumPy decoder, seeds {' '.join(map(str, seeds))}",
             f"# {cpu_name()}, shared with other work; {seconds:.0f} s",
             f"temperature  top_p  book words (mean)  lowest  seeds with a repeated "
             f"{SPAN}-character span"]
    for row in rows:
        mark = "  <- chosen" if row is chosen else ""
        lines.append(f"{row['temperature']:>11.2f}  {row['top_p']:>5.2f}  {row['share']:>17.3f}"
                     f"  {row['lowest']:>6.3f}  {row['looped']}/{len(seeds)}{mark}")
    if chosen is None:
        lines.append("chosen: none (every setting repeated a span in some seed)")
    else:
        lines.append(f"chosen: temperature {chosen['temperature']} top_p {chosen['top_p']}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--output", default=OUTPUT, help="'' writes no file")
    args = parser.parse_args()
    start_backend(False)
    started = time.monotonic()
    rows = measure(args.seeds)
    save_table(table(rows, choose(rows), args.seeds, time.monotonic() - started), args.output)


if __name__ == "__main__":
    main()
