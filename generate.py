"""Write text with a trained character LSTM, one character at a time, as the tutorial does.

    python generate.py --weights weights-improvement-19-1.9435.hdf5
    python generate.py                        # the lowest-loss checkpoint in --checkpoint-dir
    python generate.py --prime "alice was " --length 200 --raw
    python generate.py --temperature 0.5 --top-k 10 --num-samples 3 --seed 1
    python generate.py --stateful --length 100000 > book.txt
"""

from charlstm.cli import (ArgumentParser, add_checkpoint_arguments, non_negative_float,
                          positive_int, run)


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__)
    model = add_checkpoint_arguments(parser)
    model.add_argument("--text", default=None,
                       help="text to draw the random seed window from (default: the training "
                            "text stored in our checkpoints; wonderland.txt for legacy files, "
                            "which also take their vocabulary from it)")

    output = parser.add_argument_group("generation")
    output.add_argument("--length", type=positive_int, default=1000, help="characters to generate")
    output.add_argument("--seed", type=int, default=None,
                        help="random seed for the seed window (default: a fresh one, printed on stderr)")
    output.add_argument("--prime", default=None,
                        help="start from this text instead of a random window (lower-cased like "
                             "the corpus; every character must be in the vocabulary)")
    output.add_argument("--temperature", type=non_negative_float, default=0.0,
                        help="0 takes the most likely character (the tutorial); T > 0 samples "
                             "from softmax(log p / T): below 1 safer, above 1 wilder")
    output.add_argument("--top-k", type=positive_int, default=None,
                        help="with --temperature > 0, sample among the K most likely characters "
                             "only (default: all)")
    output.add_argument("--num-samples", type=positive_int, default=1,
                        help="independent continuations, generated together in one batch "
                             "(each from its own random seed window unless --prime is given)")
    output.add_argument("--stateful", action="store_true",
                        help="feed one character a step and carry the LSTM state, instead of "
                             "re-reading the last seq-length characters (much faster; see README)")
    output.add_argument("--raw", action="store_true",
                        help="print only the generated characters (no Seed: header, no Done.)")
    output.add_argument("--verbose-backend", action="store_true",
                        help="show TensorFlow's start-up messages (oneDNN, CUDA probing)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    run("charlstm.generation:generate", parse_args())
