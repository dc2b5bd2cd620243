"""Text in, numbers out: reading a corpus (files, folders, encodings, Gutenberg boilerplate),
its vocabulary, and the windows and sequences a model learns from. Only feeding needs Keras.

  rules        text rules: the byte-order mark, line ends, case, punctuation
  boilerplate  Project Gutenberg's header and footer
  vocabulary   the characters a model knows, and a text's fingerprint
  corpus       a cached and chunked reading of a file; the bundled wonderland.txt
  sources      the documents a run reads: one file, several, or folders
  windows      the tutorial's windows of seq_length characters, and their encoding
  sequences    the `every` target's sequences, a window per position
  feeding      batches for Keras' fit

    >>> from charlstm.text.vocabulary import Vocabulary
    >>> Vocabulary.from_text("alice").chars
    'aceil'
"""
