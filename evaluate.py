"""Score a checkpoint by the tutorial's own loss: the mean cross-entropy of the character after
each 100-character window, over every window of a text (no dropout). Works for any checkpoint,
legacy tutorial files included, whatever targets or input encoding it was trained with.

    python evaluate.py --weights weights-improvement-19-1.9435.hdf5
    python evaluate.py --weights FILE --held-out 0.1    # training part and held-out tail apart
"""

from charlstm.cli import ArgumentParser, add_checkpoint_arguments, fraction, positive_int, run


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__)
    add_checkpoint_arguments(parser)
    data = parser.add_argument_group("data")
    data.add_argument("--text", default=None,
                      help="text to score on (default: the training text stored in our "
                           "checkpoints; wonderland.txt for legacy files)")
    data.add_argument("--held-out", type=fraction, default=0.0,
                      help="also score the training part and this last fraction of the text "
                           "separately (the split train.py --validation-split makes)")
    data.add_argument("--batch-size", type=positive_int, default=256, help="windows per forward call")
    parser.add_argument("--verbose-backend", action="store_true",
                        help="show TensorFlow's start-up messages (oneDNN, CUDA probing)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    run("charlstm.evaluation:evaluate", parse_args())
