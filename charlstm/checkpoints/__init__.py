"""Checkpoints: the .hdf5 file (the legacy Keras weights layout plus the project's metadata),
what the metadata holds, snapshots of a model's weights, loading a file for generation, the
run folder that holds a run's files, and its history.csv.

  format      write_checkpoint() and load_checkpoint(): the file, written atomically
  metadata    the JSON metadata: vocabulary, topology, the run's settings
  snapshots   weights, optimizer and averaged weights as one Snapshot
  loading     load_for_generation(): a file (ours or the tutorial's) to a LoadedModel
  run_folder  names, the best checkpoint, the folder's lock, the run's identity
  history     history.csv, read and appended

    >>> from charlstm.checkpoints.run_folder import checkpoint_name
    >>> checkpoint_name(3, 1.9876, bigger=False)
    'weights-improvement-03-1.9876.hdf5'
"""
