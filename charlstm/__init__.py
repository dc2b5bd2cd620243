"""charlstm: the classic Keras character-level LSTM on Alice in Wonderland, on Keras 3.

The package holds every piece of logic that the commands (train.py, generate.py, evaluate.py,
export.py, plot.py) share; they parse flags and call the API below (charlstm.api). Importing
the package imports neither Keras nor TensorFlow and changes no global state (so --help is
fast): each API call starts Keras, quietly, then reaches the modules that need it.

    import charlstm
    result = charlstm.train(text="wonderland.txt", preset="fast", checkpoint_dir="runs")
    print(charlstm.generate(result.best_checkpoint, length=300, prime="alice "))

    >>> from charlstm.text.vocabulary import Vocabulary
    >>> Vocabulary.from_text("hello").chars
    'ehlo'
"""

from .api import (Loaded, device, evaluate, export, generate, items, load, plot, samples, serve,
                  stream, train)
from .errors import UserError

__version__ = "1.1.0"

__all__ = ["train", "generate", "stream", "samples", "items", "evaluate", "load", "export",
           "plot", "serve", "device", "Loaded", "UserError"]
