"""Train the tutorial's character-level LSTM on a text and write best-only .hdf5 checkpoints.

    python train.py                 # small model: LSTM(256), 20 epochs, batch 128
    python train.py --bigger        # stacked model: 2 x LSTM(256), 50 epochs, batch 64
    python train.py --text my.txt --epochs 5 --checkpoint-dir runs/mine
    python train.py --targets every --one-hot --validation-split 0.1 --monitor val_loss
    python train.py --resume weights-improvement-12-2.0713.hdf5 --epochs 40
"""

import sys

from charlstm.cli import ArgumentParser, explicit_flags, fraction, positive_float, positive_int, run
from charlstm.presets import PRESETS


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__)
    data = parser.add_argument_group("data")
    data.add_argument("--text", default="wonderland.txt", help="UTF-8 text file to learn from")
    data.add_argument("--seq-length", type=positive_int, default=100,
                      help="characters in each input window")
    data.add_argument("--strip-punctuation", action="store_true",
                      help="remove punctuation from the text and so from the vocabulary (idea 2; "
                           "dashes become spaces)")
    data.add_argument("--sentences", action="store_true",
                      help="train on sentences, right-padded to --seq-length, every position "
                           "predicting its next character; padding is left out of the loss "
                           "(idea 4)")

    model = parser.add_argument_group("model")
    model.add_argument("--bigger", action="store_true",
                       help="the tutorial's larger model: two LSTM layers, 50 epochs, batch 64, "
                            "checkpoint names ending in -bigger.hdf5")
    model.add_argument("--units", type=positive_int, default=256, help="memory units per LSTM layer")
    model.add_argument("--layers", type=positive_int, default=None,
                       help="LSTM layers (default: 1; 2 with --bigger)")
    model.add_argument("--dropout", type=fraction, default=0.2,
                       help="dropout rate after each LSTM layer")
    model.add_argument("--input-dropout", type=fraction, default=0.0,
                       help="dropout rate on the visible input, before the first LSTM (idea 6)")
    model.add_argument("--one-hot", action="store_true",
                       help="one-hot input (a 1 among vocabulary-size features) instead of the "
                            "tutorial's index divided by the vocabulary size")

    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=positive_int, default=None,
                          help="passes over all patterns (default: 20; 50 with --bigger)")
    training.add_argument("--steps-per-epoch", type=positive_int, default=None,
                          help="end an epoch (and check for a better checkpoint) after this "
                               "many batches, for texts too big for one pass an epoch; the "
                               "next epoch carries on through the text (default: one pass)")
    training.add_argument("--batch-size", type=positive_int, default=None,
                          help="patterns per gradient step (default: 128; 64 with --bigger)")
    training.add_argument("--preset", choices=sorted(PRESETS), default=None,
                          help="a tuned recipe that sets several flags at once; flags given "
                               "explicitly still win (fast: see README)")
    training.add_argument("--learning-rate", type=positive_float, default=0.001,
                          help="Adam's learning rate (Keras' default, the tutorial's)")
    training.add_argument("--clipnorm", type=positive_float, default=None,
                          help="clip each gradient to this norm (default: no clipping)")
    training.add_argument("--targets", choices=("last", "every"), default="last",
                          help="last: each stride-1 window teaches the character after it (the "
                               "tutorial); every: non-overlapping windows, each position teaches "
                               "its next character (about seq-length times the signal per step)")
    training.add_argument("--validation-split", type=fraction, default=0.0,
                          help="hold out this last fraction of the text, never trained on, and "
                               "report val_loss each epoch")
    training.add_argument("--monitor", choices=("loss", "val_loss"), default="loss",
                          help="what best-only checkpoints track")
    training.add_argument("--stateful", action="store_true",
                          help="stateful LSTMs: the text is cut into --batch-size contiguous "
                               "streams and the state carries from batch to batch, reset each "
                               "epoch (idea 10; every position predicts its next character)")
    training.add_argument("--resume", metavar="FILE", default=None,
                          help="continue a run from one of its checkpoints: weights, optimizer "
                               "state, epoch count and best loss; its settings are the defaults")
    training.add_argument("--seed", type=int, default=None,
                          help="random seed; the same seed repeats a run on the same machine "
                               "(default: a fresh one, printed at the start)")
    training.add_argument("--dry-run", action="store_true",
                          help="print the data summary and model summary, train nothing, write nothing")

    devices = parser.add_argument_group("devices")
    devices.add_argument("--distribute", action="store_true",
                         help="data-parallel training over every visible GPU (MirroredStrategy; "
                              "MultiWorkerMirroredStrategy when TF_CONFIG is set; DataParallel "
                              "on JAX); --batch-size stays the global batch")
    devices.add_argument("--mixed-precision", action="store_true",
                         help="16-bit compute on GPUs (bfloat16, or float16 before compute "
                              "capability 8.0) with float32 weights, softmax and loss; refused "
                              "on a CPU, where it only slows training")

    output = parser.add_argument_group("output")
    output.add_argument("--checkpoint-dir", default=".",
                        help="folder for the .hdf5 checkpoints (with --resume: the checkpoint's)")
    output.add_argument("--history", metavar="FILE", default=None,
                        help="CSV of epoch, loss, val_loss, learning rate, seconds and checkpoint "
                             "(default: history.csv in the checkpoint folder)")
    output.add_argument("--tensorboard", metavar="DIR", default=None,
                        help="write TensorBoard logs to DIR")
    output.add_argument("--sample-every", metavar="N", type=positive_int, default=None,
                        help="every N epochs, log a greedy and a temperature-0.5 sample of the "
                             "current model")
    output.add_argument("--verbose-backend", action="store_true",
                        help="show TensorFlow's start-up messages (oneDNN, CUDA probing)")

    args = parser.parse_args(argv)
    if args.preset:
        # Parse again with the preset as defaults, so that explicit flags override it.
        parser.set_defaults(**PRESETS[args.preset])
        args = parser.parse_args(argv)
    # --resume takes the checkpoint's settings for every flag not given explicitly.
    args.explicit = explicit_flags(parser, sys.argv[1:] if argv is None else argv)
    if args.epochs is None:
        args.epochs = 50 if args.bigger else 20
    if args.batch_size is None:
        args.batch_size = 64 if args.bigger else 128
    if args.layers is None:
        args.layers = 2 if args.bigger else 1
    return args


if __name__ == "__main__":
    run("charlstm.training:train", parse_args())
