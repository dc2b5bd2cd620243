"""charlstm: the classic Keras character-level LSTM on Alice in Wonderland, on Keras 3.

The package holds every piece of logic that train.py and generate.py share; the two commands
only parse flags and call it. Importing the package does not import Keras (so --help is fast):
the modules that need Keras import it through charlstm.backend.

    >>> from charlstm.corpus import Vocabulary
    >>> Vocabulary.from_text("hello").chars
    'ehlo'
"""

__version__ = "1.0.0"
