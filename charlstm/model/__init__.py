"""The network: its topology as plain numbers, the Keras model built from it, the optimizer
and its schedule, and the one place that touches Keras' private API.

  topology      Topology: layers, units, cell, encoding
  cells         CELLS: each recurrent cell (LSTM, GRU) declared once, with its NumPy step
  models        build_model(): the tutorial's Sequential, and its compiled forward step
  optimizer     Adam with the tutorial's settings, warm-up, cosine decay, clipping
  keras_compat  every use of a private Keras API, with the version it was written for

    >>> from charlstm.model.topology import Topology
    >>> Topology(vocab_size=45, output_size=45).units   # the tutorial's 256 units
    256
"""
