"""Many clients decoded together: serve.py's engine, with no HTTP in it (charlstm/server.py is
the web side).

Every request is a Group of rows (num_samples of them) of one model's batch. One thread steps
every model's batch by one character at a time: a row still reading its prime takes the
prime's next character, the others the character chosen for them at the last step. A new
request joins at the next step, and a finished or cancelled one leaves at the next step and
frees its rows. The arithmetic is the StatefulDecoder's (float64: a row's numbers do not depend
on the rows around it), and each group has its own random generator and chooser, set up
exactly as generate.py sets them up, so a request's text is the text that
`generate.py --stateful` writes for the same options, alone or among 127 others.

    >>> import os
    >>> from charlstm.config import resolve_options
    >>> fixture = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "format2",
    ...                        "weights-improvement-06-2.8997.hdf5")   # a tiny test model
    >>> engine = Engine([ServedModel.load(fixture)])
    >>> options = resolve_options({"weights": fixture, "prime": "alice ", "length": 12,
    ...                            "temperature": 1.0, "seed": 1, "stateful": True})
    >>> texts = engine.submit(options).wait_text()
    >>> from charlstm.generation import start   # what generate.py --stateful writes
    >>> generation = start(options)
    >>> texts == ["".join(generation.vocabulary.chars[step[0]] for step in generation.steps)]
    True
    >>> engine.close()
"""

import dataclasses
import os
import queue
import threading

import numpy as np

from .backend import choose_seed
from .decoders import STATEFUL_PRIME_CONTEXT, StatefulDecoder
from .errors import UserError
from .folder import parse_checkpoint_name
from .generation import choose_primes
from .loading import load_for_generation
from .sampling import make_chooser


@dataclasses.dataclass
class ServedModel:
    """One checkpoint, loaded once: its name in requests, its vocabulary, seed text and the
    decoder whose weights every group of this model shares."""

    name: str
    path: str
    checkpoint: object
    seed_text: object
    decoder: StatefulDecoder

    @classmethod
    def load(cls, path, name=None):
        model, checkpoint, seed_text = load_for_generation(path)
        name = name or os.path.splitext(os.path.basename(path))[0]
        return cls(name, path, checkpoint, seed_text,
                   StatefulDecoder(model, checkpoint.topology))

    def describe(self):
        """What GET /models says of it."""
        metadata = self.checkpoint.metadata or {}
        parsed = parse_checkpoint_name(os.path.basename(self.path))
        loss = metadata.get("loss", parsed[1] if parsed else None)
        settings = {key: metadata[key] for key in (
            "preset", "cell", "layers", "units", "input_encoding", "targets", "dropout",
            "epoch", "keep_case", "text_name") if key in metadata}
        return {"name": self.name, "vocabulary_size": len(self.checkpoint.vocabulary),
                "loss": loss, "val_loss": metadata.get("val_loss"),
                "seq_length": self.checkpoint.seq_length, "settings": settings,
                "legacy": self.checkpoint.is_legacy}


class Group:
    """One request: its rows' primes, chooser and progress, and what it has produced.

    The engine thread calls feed() and take(); the request's side reads the characters from
    `chunks` (a queue.Queue of lists of characters per row, then None at the end) or waits
    for the whole text. cancel() (a client gone) makes the engine drop it at the next step."""

    def __init__(self, model, primes, seed, length, choose):
        self.model, self.primes, self.seed, self.length = model, primes, seed, length
        self.choose = choose
        self.rows = len(primes)
        self.position = 0  # the prime characters read so far
        self.last = None  # the characters chosen at the last step, one a row
        self.texts = [[] for _ in range(self.rows)]
        self.produced = 0
        self.cancelled = False
        self.finished = threading.Event()
        self.error = None
        self.chunks = queue.Queue()
        self.waker = None  # what the server's request waits on (an asyncio.Event)

    @property
    def done(self):
        return self.cancelled or self.produced >= self.length

    def next_inputs(self):
        """This step's input character of each row."""
        if self.position < self.primes.shape[1]:
            inputs = self.primes[:, self.position]
            self.position += 1
            return inputs
        return self.last

    @property
    def emitting(self):
        """Whether this step's probabilities choose a character (the prime has been read)."""
        return self.position >= self.primes.shape[1]

    def take(self, probabilities):
        """Choose each row's next character and hand them out."""
        indices = self.choose(probabilities)
        self.last = indices
        self.produced += 1
        chars = self.model.checkpoint.vocabulary.chars
        new = [chars[index] for index in indices]
        for text, char in zip(self.texts, new):
            text.append(char)
        self.chunks.put(new)
        if self.done:
            self.chunks.put(None)

    def cancel(self):
        self.cancelled = True

    def wait_text(self):
        """Block until the group is done; the rows' texts, joined."""
        self.finished.wait()
        if self.error:
            raise self.error
        return ["".join(text) for text in self.texts]


class _Batch:
    """One model's rows: the groups in row order and their stacked recurrent states."""

    def __init__(self, model):
        self.model = model
        self.groups = []
        self.states = None  # per layer, a tuple of (rows, units) arrays

    def join(self, group):
        fresh = self.model.decoder.zero_states(group.rows)
        self.states = fresh if self.states is None else [
            tuple(np.concatenate([old, new]) for old, new in zip(layer, added))
            for layer, added in zip(self.states, fresh)]
        self.groups.append(group)

    def leave_finished(self):
        """Drop the rows of finished or cancelled groups; the finished ones are told."""
        keep, start = [], 0
        kept_groups = []
        for group in self.groups:
            if not group.done:
                keep.extend(range(start, start + group.rows))
                kept_groups.append(group)
            else:
                if group.cancelled:
                    group.chunks.put(None)
                group.finished.set()
            start += group.rows
        if len(kept_groups) != len(self.groups):
            self.groups = kept_groups
            self.states = ([tuple(array[keep] for array in layer) for layer in self.states]
                           if kept_groups else None)

    def step(self):
        """One character for every row; returns the groups that got new characters."""
        decoder = self.model.decoder
        inputs = np.concatenate([group.next_inputs() for group in self.groups])
        decoder.states = self.states
        top = decoder.step_rows(inputs)
        self.states = decoder.states
        emitting = [(group, start) for group, start in zip(self.groups, self._starts())
                    if group.emitting]
        if not emitting:
            return []
        probabilities = decoder.probabilities(top)
        for group, start in emitting:
            group.take(probabilities[start:start + group.rows])
        return [group for group, _ in emitting]

    def _starts(self):
        start = 0
        for group in self.groups:
            yield start
            start += group.rows

    @property
    def rows(self):
        return sum(group.rows for group in self.groups)


class Engine:
    """The models served (ServedModel, by name) and their batches. step() advances every
    batch by one character. With thread=True (the default) a thread of its own calls it while
    there is work; serve.py passes thread=False and calls it from its event loop between
    sending characters, which on a few cores beats two threads taking Python's lock from each
    other at every step."""

    def __init__(self, models, max_streams=256, thread=True):
        self.models = {model.name: model for model in models}
        self.max_streams = max_streams
        self._batches = {name: _Batch(model) for name, model in self.models.items()}
        self._joining = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = None
        if thread:
            self._thread = threading.Thread(target=self._run, name="charlstm-decoder",
                                            daemon=True)
            self._thread.start()

    @property
    def streams(self):
        """Rows being decoded or about to join."""
        with self._lock:
            return (sum(batch.rows for batch in self._batches.values())
                    + sum(group.rows for group in self._joining))

    def submit(self, options, model=None):
        """A Group for GenerationOptions (checked by config), on the named model (default:
        the first); UserError for what generate.py would refuse, or when the streams are
        all taken (the server answers 429 then)."""
        served = self._model(model)
        vocabulary = served.checkpoint.vocabulary
        if options.top_k is not None and options.top_k > len(vocabulary):
            raise UserError(f"top_k {options.top_k} is more than the model's "
                            f"{len(vocabulary)} characters")
        seed = choose_seed(options.seed)
        rng = np.random.default_rng(seed)  # the seed windows, then sampling: as generate.py
        primes = choose_primes(options, options.prime, served.checkpoint, served.seed_text,
                               rng)
        primes = np.asarray(primes)[:, -STATEFUL_PRIME_CONTEXT:]
        choose = make_chooser(options.temperature, options.top_k, rng, options.top_p)
        group = Group(served, primes, seed, options.length, choose)
        with self._lock:
            if self._closed:
                raise UserError("the server is shutting down")
            busy = (sum(batch.rows for batch in self._batches.values())
                    + sum(joining.rows for joining in self._joining))
            if busy + group.rows > self.max_streams:
                raise Busy(f"the server is decoding {busy} streams, and at most "
                           f"{self.max_streams} at once (--max-streams): try again shortly")
            self._joining.append(group)
        self._wake.set()
        return group

    def _model(self, name):
        if name is None:
            return next(iter(self.models.values()))
        if name not in self.models:
            raise UserError(f"model: no model named {name!r}; the models are "
                            + ", ".join(repr(known) for known in self.models))
        return self.models[name]

    def step(self):
        """Let waiting groups join, advance every batch by one character and let finished
        or cancelled groups leave. Returns the groups that got characters or ended, or None
        when there is nothing to decode."""
        with self._lock:
            joining, self._joining = self._joining, []
        for group in joining:
            self._batches[group.model.name].join(group)
        active = [batch for batch in self._batches.values() if batch.groups]
        if not active:
            return None
        touched = []
        for batch in active:
            try:
                touched += batch.step()
            except Exception as error:  # noqa: BLE001 - a bug: end these groups, not the server
                for group in batch.groups:
                    group.error = error
                    group.cancel()
                touched += batch.groups
            batch.leave_finished()
        return touched

    def close(self):
        """Stop decoding: every group still running ends (cancelled)."""
        with self._lock:
            self._closed = True
            joining, self._joining = self._joining, []
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for batch in self._batches.values():
            for group in batch.groups + joining:
                group.cancel()
            batch.leave_finished()
        for group in joining:
            group.chunks.put(None)
            group.finished.set()

    def _run(self):
        while not self._closed:
            if self.step() is None:
                self._wake.wait()
                self._wake.clear()


class Busy(UserError):
    """Every stream is taken: the request may be repeated later (HTTP 429)."""

