"""How fast the web export writes: stateful greedy characters per second in headless Chromium
(Debian's chromium through chromium-driver), against charlstm's NumPy StatefulDecoder on the
same CPU in the same run, for the bundled model and the tutorial's two topologies.

For each model the script exports a web folder, opens its index.html by file:// and times
- the decoder alone (charlstmDecoder.greedy), with the WebAssembly multiply-add and with
  the JavaScript loop that stands in where WebAssembly may not run;
- the page itself: Generate pressed, text shown as it is made, to the page's "done";
- Python: StatefulDecoder.start, then argmax and advance, one character at a time.
The tutorial's topologies (1 x 256 and 2 x 256 LSTM, scaled input) are untrained models of
the bundled model's vocabulary: the work per character does not depend on the weights.

    python bench/web.py                  # about a minute; writes bench/results/web.txt
"""

import argparse
import hashlib
import os
import re
import subprocess
import tempfile
import time

from common import CHROMIUM, ROOT, cpu_name, save_table, start_chromium, wait_for_state

from charlstm.system.backend import import_keras  # noqa: E402

keras = import_keras()
import numpy as np  # noqa: E402

import charlstm  # noqa: E402
from charlstm.checkpoints.format import load_checkpoint, write_checkpoint  # noqa: E402
from charlstm.config import resolve  # noqa: E402
from charlstm.generation.decoders import StatefulDecoder  # noqa: E402
from charlstm.checkpoints.run_folder import BUNDLED_MODEL  # noqa: E402
from charlstm.checkpoints.loading import load_for_generation  # noqa: E402
from charlstm.checkpoints.metadata import Metadata  # noqa: E402
from charlstm.model.models import build_model  # noqa: E402
from charlstm.checkpoints.snapshots import snapshot  # noqa: E402
from charlstm.training.run import topology_of  # noqa: E402

PRIME = "alice was beginning to get very tired of sitting by her sister on the bank, "


def tutorial_checkpoint(path, layers):
    """An untrained checkpoint of the tutorial's topology (layers x 256 LSTM, scaled input)
    over the bundled model's vocabulary and text."""
    bundled = load_checkpoint(BUNDLED_MODEL)
    settings = resolve({"layers": layers, "units": 256, "input_encoding": "scaled",
                        "text": os.path.join(ROOT, "wonderland.txt")})
    keras.utils.set_random_seed(layers)
    model = build_model(topology_of(settings, len(bundled.vocabulary)))
    text = bundled.seed_text
    metadata = Metadata.for_run(settings, bundled.vocabulary.chars, len(text),
                                hashlib.sha256(text.tobytes()).hexdigest()).at_epoch(1, 0.0)
    write_checkpoint(path, snapshot(model), metadata, text)
    return path


DECODER_TIMING = """
const [prime, length, options] = arguments;
const started = performance.now();
charlstmDecoder.greedy(prime, length, options);
return length / ((performance.now() - started) / 1000);
"""


def browser_rates(driver, folder, length, repeats):
    """(WebAssembly decoder, JavaScript decoder, page) characters per second, best of
    repeats, after a warm-up."""
    driver.get("file://" + os.path.join(folder, "index.html"))
    # Asked seldom: each question runs on the page's own thread, and would slow what it times.
    wait_for_state(driver, "idle", "error", seconds=600, every=0.25)
    rates = []
    for options in ({}, {"webassembly": False}):
        driver.execute_script(DECODER_TIMING, PRIME, 200, options)  # compile the hot code
        rates.append(max(driver.execute_script(DECODER_TIMING, PRIME, length, options)
                         for _ in range(repeats)))
    page = []
    for _ in range(repeats):
        for field, value in (("prime", PRIME), ("length", length), ("temperature", 0)):
            element = driver.find_element("id", field)
            element.clear()
            element.send_keys(str(value))
        driver.find_element("id", "generate").click()
        wait_for_state(driver, "done", "error", seconds=600, every=0.25)
        shown = driver.find_element("id", "rate").text  # "N characters in S s"
        count, seconds = re.match(r"(\d+) characters in ([\d.]+) s", shown).groups()
        page.append(int(count) / float(seconds))
    return rates + [max(page)]


def python_rate(weights, length, repeats):
    """StatefulDecoder's greedy characters per second (one row), best of repeats."""
    model, checkpoint, _ = load_for_generation(weights)
    decoder = StatefulDecoder(model, checkpoint.topology)
    prime = checkpoint.vocabulary.encode(PRIME)[None]
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        probabilities = decoder.start(prime)
        for _ in range(length):
            probabilities = decoder.advance(np.argmax(probabilities, axis=1))
        best = max(best, length / (time.perf_counter() - started))
    return best


def chromium_version():
    try:
        version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                                 timeout=60).stdout
        return " ".join(version.split()[:2])  # "Chromium 156.0.8078.114"
    except (OSError, subprocess.SubprocessError):
        return "chromium"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--length", type=int, default=3000, help="characters per timing")
    parser.add_argument("--repeats", type=int, default=5, help="timings; the best is kept")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results", "web.txt"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-web-")
    models = [("alice (bundled)", "2 x 256 LSTM, one-hot", BUNDLED_MODEL),
              ("tutorial (untrained)", "1 x 256 LSTM, scaled",
               tutorial_checkpoint(os.path.join(work, "tutorial.hdf5"), 1)),
              ("tutorial bigger (untrained)", "2 x 256 LSTM, scaled",
               tutorial_checkpoint(os.path.join(work, "tutorial-bigger.hdf5"), 2))]
    load = os.getloadavg()[0]
    driver = start_chromium(os.path.join(work, "profile"), script_timeout=600)
    rows = []
    try:
        for name, topology, weights in models:
            folder = charlstm.export(weights, os.path.join(work, f"web-{len(rows)}"),
                                     format="web", verbose=0)
            wasm, javascript, page = browser_rates(driver, folder, args.length, args.repeats)
            python = python_rate(weights, args.length, args.repeats)
            rows.append(f"{name:<28} {topology:<22} {wasm:>9,.0f} {javascript:>9,.0f} "
                        f"{page:>9,.0f} {python:>9,.0f} {wasm / python:>9.2f}")
    finally:
        driver.quit()
    header = (f"# bench/web.py: stateful greedy characters per second, export --format web in "
              f"headless {chromium_version()} against charlstm's NumPy StatefulDecoder "
              f"(float64), one text, {args.length:,} characters, best of {args.repeats}\n"
              f"# {cpu_name()}, shared with other work (load average {load:.1f} at the start)\n"
              f"{'model':<28} {'topology (43 characters)':<22} {'browser':>9} {'browser':>9} "
              f"{'page':>9} {'python':>9} {'browser /':>9}\n"
              f"{'':<28} {'':<22} {'wasm':>9} {'js loop':>9} {'(wasm)':>9} {'numpy':>9} "
              f"{'python':>9}")
    save_table(header + "\n" + "\n".join(rows), args.output)


if __name__ == "__main__":
    main()
