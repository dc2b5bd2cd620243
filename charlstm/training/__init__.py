"""Training a model: the run from settings to checkpoints (run), the callbacks that write
checkpoints, history and samples as it goes, the checks that combine settings with the text
and the machine, and the loss plot.

  run        prepare() and train(): text, checks, device, batches, model, fit, report
  resume     --resume and --init-from: what a run takes from its checkpoint, and where it starts
  callbacks  best-only checkpoints, history.csv, samples, the time budget, stops
  checks     validate(): what no single flag can see
  plotting   history.png and plot.py

    >>> from charlstm.training.checks import TextLengths
    >>> TextLengths(1000, 900, 100).training
    900
"""
