"""export.py --format web: a static folder that writes text in any browser, with no server
and no network, opened from disk (file://) or put on any static host.

The folder holds the page (charlstm/web's index.html, page.css and page.js, the one page
serve.py serves too), the in-browser decoder (decoder.js: generation.decoders.StatefulDecoder in
plain JavaScript, float64 as the Python one, so greedy text is generate.py --stateful's),
the page's browser engine (browser_engine.js) and the weights (model.js). The weights are a
script that sets window.charlstmModel, not a JSON file, because a page opened from disk may
not fetch() a file beside it but may load a <script src>. model.js holds the vocabulary, the
text rules a prime goes through, the settings, the start of the training text (for a random
seed window) and each weight array as base64 little-endian float32 with its shape and its
CRC-32, so that a damaged file says so on the page instead of writing noise.

    python export.py --format web --output alice-web      # the bundled model
    python -m http.server -d alice-web                    # or open alice-web/index.html

    >>> WEB_FILES
    ('index.html', 'page.css', 'page.js', 'decoder.js', 'browser_engine.js', 'model.js')
    >>> entry = array_entry("dense/bias", np.array([0.5, -1.0], np.float32))
    >>> entry["shape"], entry["base64"]
    ([2], 'AAAAPwAAgL8=')
"""

import base64
import json
import os
import zlib

import numpy as np

from ..errors import UserError
from ..system.files import check_output, write_atomically
from ..checkpoints.run_folder import parse_checkpoint_name
from ..logs import log
from ..serving.pages import PAGE_ASSETS, asset_path, page_html

WEIGHTS_SCRIPT = "model.js"  # browser_engine.js names it too
# The order of the page's <script> tags: the decoder, the engine (which must listen for
# model.js failing to load before its tag is reached), then the weights; page.js comes last.
ENGINE_SCRIPTS = ("decoder.js", "browser_engine.js", WEIGHTS_SCRIPT)
WEB_FILES = ("index.html", *PAGE_ASSETS, *ENGINE_SCRIPTS)
FORMAT_VERSION = 1
# The training text's first characters that travel with the weights, for the random seed
# window an empty prime asks for: all of Alice (about 145,000), not all of a 100 MB corpus.
SEED_TEXT_LIMIT = 200_000
# What GET /models of serve.py says of a model's settings, which the page shows.
DESCRIBED_SETTINGS = ("preset", "cell", "layers", "units", "input_encoding", "targets",
                      "dropout", "epoch", "keep_case", "text_name")


def check_web_output(output, inputs):
    """The folder to write: new, empty, or an earlier web export (which holds index.html
    and model.js); UserError for a file, a link, or a folder of other files."""
    if not output:
        raise UserError("cannot write the web folder: its path is empty")
    output = output.rstrip("/" + os.sep) or output
    if os.path.lexists(output):
        if not os.path.isdir(output) or os.path.islink(output):
            raise UserError(f"cannot write the web folder '{output}': it exists and is not a "
                            "folder; name a new one")
        names = set(os.listdir(output))
        if names and not {"index.html", WEIGHTS_SCRIPT} <= names:
            raise UserError(f"cannot write the web folder '{output}': it is a folder that "
                            "holds other files; name a new folder (or an earlier web export)")
    for name in WEB_FILES:
        check_output(os.path.join(output, name), "web page file", inputs)
    return output


def array_entry(name, array):
    """One weight array as model.js carries it: little-endian float32 bytes in base64, its
    shape, and zlib.crc32 of the bytes, which decoder.js checks."""
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    return {"name": name, "shape": list(np.shape(array)), "crc32": zlib.crc32(data),
            "base64": base64.b64encode(data).decode("ascii")}


def weight_names(topology):
    """The names of model.get_weights()'s arrays, in its order (decoders.StatefulDecoder's):
    the embedding where there is one, kernel, recurrent kernel and bias per layer, the Dense."""
    names = ["embedding"] if topology.reads_indices else []
    for number in range(1, topology.layers + 1):
        names += [f"layer_{number}/{part}" for part in ("kernel", "recurrent_kernel", "bias")]
    return names + ["dense/kernel", "dense/bias"]


def describe_model(checkpoint, seed_text, name):
    """Everything model.js says but the weights: what the page and decoder.js need."""
    topology = checkpoint.topology
    metadata = checkpoint.metadata or {}
    parsed = parse_checkpoint_name(os.path.basename(checkpoint.path))
    rules = checkpoint.text_rules
    text = None
    if seed_text is not None:
        text = checkpoint.vocabulary.decode_all(np.asarray(seed_text)[:SEED_TEXT_LIMIT])
    return {
        "format": "charlstm-web", "version": FORMAT_VERSION, "name": name,
        "vocabulary": list(checkpoint.vocabulary.chars), "vocab_size": topology.vocab_size,
        "output_size": topology.output_size, "seq_length": checkpoint.seq_length,
        "cell": topology.cell, "layers": topology.layers, "units": topology.units,
        "input_encoding": topology.input_encoding, "embedding_size": topology.embedding_size,
        "text_rules": {"keep_case": rules.keep_case,
                       "strip_punctuation": rules.strip_punctuation},
        "loss": metadata.get("loss", parsed[1] if parsed else None),
        "val_loss": metadata.get("val_loss"),
        "settings": {key: metadata[key] for key in DESCRIBED_SETTINGS if key in metadata},
        "seed_text": text,
        # How the model was trained (issue 31): "lines" shows the page's items switch.
        "documents_mode": metadata.get("documents_mode", "files"),
    }


def weights_script(description, weights, topology):
    """The text of model.js: one statement that sets window.charlstmModel."""
    names = weight_names(topology)
    assert len(names) == len(weights), (names, [np.shape(array) for array in weights])
    model = dict(description, arrays=[array_entry(name, array)
                                      for name, array in zip(names, weights)])
    # ensure_ascii: the file is plain ASCII, whatever encoding a host declares for it.
    return ("// charlstm web export: the model's weights, vocabulary and settings (see "
            "charlstm/exporting/web.py)\nwindow.charlstmModel = "
            + json.dumps(model, ensure_ascii=True, separators=(",", ":")) + ";\n")


def folder_files(loaded, name):
    """{file name: bytes} of the folder, index.html last (written last: a folder with an
    index.html is a whole one)."""
    model, checkpoint, seed_text = loaded
    files = {}
    for asset in (*PAGE_ASSETS, "decoder.js", "browser_engine.js"):
        with open(asset_path(asset), "rb") as handle:
            files[asset] = handle.read()
    description = describe_model(checkpoint, seed_text, name)
    files[WEIGHTS_SCRIPT] = weights_script(description, model.get_weights(),
                                           checkpoint.topology).encode("ascii")
    files["index.html"] = page_html(list(ENGINE_SCRIPTS)).encode("utf-8")
    return files


def write_web_folder(output, loaded, weights, inputs=()):
    """Write the web folder for a loaded checkpoint (loading.LoadedModel) to output; returns the
    folder's path."""
    output = check_web_output(output, inputs)
    name = os.path.splitext(os.path.basename(weights))[0]
    files = folder_files(loaded, name)
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot write the web folder '{output}': "
                        f"{error.strerror or error}") from None
    for file_name, data in files.items():
        write_atomically(os.path.join(output, file_name), data, what="web page file",
                         inputs=inputs)
    size = sum(len(data) for data in files.values())
    log(f"exported {weights} as web: {output} ({len(files)} files, {size / 1e6:.1f} MB); "
        f"open {os.path.join(output, 'index.html')} in a browser, or put the folder on any "
        "static host")
    return output
