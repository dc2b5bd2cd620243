"""The machine: the Keras backend started on first use, the devices it runs on, files written
safely, and signals turned into clean stops. The lowest room above errors, logs and config:
it knows nothing of text, models or checkpoints.

  backend   import_keras() and start_backend(): which backend, started quietly, once
  devices   the device: line, GPUs, distribution strategies, mixed precision
  files     atomic writes, and output paths checked before any work starts
  signals   Ctrl-C and SIGTERM end a run at a safe point, exit 130 and 143

Importing this package imports none of its modules; backend starts Keras only when asked:

    >>> from charlstm.system.backend import choose_seed
    >>> choose_seed(7)
    7
"""
