"""charlstm: the classic Keras character-level LSTM on Alice in Wonderland, on Keras 3.

The package holds every piece of logic that train.py, generate.py and evaluate.py share; the
commands parse flags and call the API below. Importing the package imports neither Keras nor
TensorFlow and changes no global state (so --help is fast): Keras starts, quietly, on first
use.

    import charlstm
    result = charlstm.train(text="wonderland.txt", preset="fast", checkpoint_dir="runs")
    print(charlstm.generate(result.best_checkpoint, length=300, prime="alice "))

    >>> from charlstm.corpus import Vocabulary
    >>> Vocabulary.from_text("hello").chars
    'ehlo'
"""

from .api import Loaded, device, evaluate, export, generate, load, plot, samples, stream, train
from .errors import UserError

__version__ = "1.1.0"

__all__ = ["train", "generate", "stream", "samples", "evaluate", "load", "export", "plot",
           "device", "Loaded", "UserError"]
