"""Many clients decoded together: serve.py's engine, with no HTTP in it (serving/server.py is the
web side).

Every request is a Group of rows (num_samples of them) of one model's batch. One thread steps
every model's batch by one character at a time: a row still reading its prime takes the
prime's next character, the others the character chosen for them at the last step. A new
request joins at the next step, and a finished or cancelled one leaves at the next step and
frees its rows. The arithmetic is the StatefulDecoder's (float64: a row's numbers do not depend
on the rows around it). Every row's next character is chosen in one call
(sampling.choose_rows) with its request's settings, each request drawing from its own random
generator, seeded and drawn exactly as generate.py draws it, so a request's text is the text
that `generate.py --stateful` writes for the same options, alone or among 127 others.

A prime is read in the batch too, one character a step like every other row: it costs other
streams nothing but a row, and a prime of P characters makes its request wait P steps for its
first character (serve.py --max-prime bounds P).

    >>> import os
    >>> from charlstm.config import resolve_options
    >>> fixture = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "format2",
    ...                        "weights-improvement-06-2.8997.hdf5")   # a tiny test model
    >>> engine = Engine([ServedModel.load(fixture)])
    >>> options = resolve_options({"weights": fixture, "prime": "alice ", "length": 12,
    ...                            "temperature": 1.0, "seed": 1, "stateful": True})
    >>> texts = engine.submit(options).wait_text()
    >>> from charlstm.generation.generate import start   # what generate.py --stateful writes
    >>> generation = start(options)
    >>> texts == ["".join(generation.vocabulary.chars[step[0]] for step in generation.steps)]
    True
    >>> engine.close()
"""

import dataclasses
import os
import threading

import numpy as np

from ..system.backend import choose_seed
from ..generation.decoders import STATEFUL_PRIME_CONTEXT, StatefulDecoder
from ..config import FIELDS
from ..errors import UserError
from ..checkpoints.run_folder import parse_checkpoint_name
from ..generation.generate import choose_primes
from ..checkpoints.format import Checkpoint
from ..checkpoints.loading import load_for_generation
from ..logs import log
from ..generation.sampling import choose_rows


@dataclasses.dataclass
class ServedModel:
    """One checkpoint, loaded once: its name in requests, its vocabulary, seed text and the
    decoder whose weights every group of this model shares."""

    name: str
    path: str
    checkpoint: Checkpoint
    seed_text: np.ndarray  # indices; None when the file keeps no text
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
    """One request: its rows' primes, sampling settings and random generator, and the text
    made so far.

    The engine's thread appends each row's characters to `texts` (lists of characters: an
    append, and reading a list's length or a slice, are atomic under the GIL, so the
    server reads them as they grow without a lock), and sets `finished` at the end; the
    Engine's on_step hears of its first characters and of its end. cancel() (a client gone)
    makes the engine drop the group at the next step."""

    def __init__(self, model, primes, seed, options, rng):
        self.model, self.primes, self.seed = model, primes, seed
        # GenerationOptions, carried whole: a new option needs no field here
        self.options = options
        self.rng = rng  # drawn as make_chooser draws it: one number a row a step
        self.rows = len(primes)
        self.position = 0  # the prime characters read so far
        self.texts = [[] for _ in range(self.rows)]
        self.produced = 0
        self.cancelled = False
        self.finished = threading.Event()
        self.error = None
        self.waker = None  # what the server's request waits on (an asyncio.Event)
        self.prime_texts = []  # each row's prime or seed window, as text (Engine.submit)

    @property
    def length(self):
        return self.options.length

    @property
    def done(self):
        return self.cancelled or self.produced >= self.length

    @property
    def sampled(self):
        return self.options.temperature > 0

    def cancel(self):
        self.cancelled = True

    def wait_text(self):
        """Block until the group is done; the rows' texts, joined."""
        self.finished.wait()
        if self.error:
            raise self.error
        return ["".join(text) for text in self.texts]


class _Batch:
    """One model's rows: the groups in row order, their stacked recurrent states, each row's
    next input character, and each row's sampling settings (for sampling.choose_rows)."""

    def __init__(self, model):
        self.model = model
        self.groups = []
        self.states = None  # per layer, a tuple of (rows, units) arrays
        self.inputs = np.zeros(0, np.int64)
        self._settings()

    def _settings(self):
        size = len(self.model.checkpoint.vocabulary)
        per_row = [(group.options.temperature, group.options.top_k or size,
                    group.options.top_p) for group in self.groups for _ in range(group.rows)]
        temperatures, top_ks, top_ps = (np.array(column) for column in zip(*per_row)) \
            if per_row else (np.zeros(0),) * 3
        self.temperatures, self.top_ks, self.top_ps = temperatures, top_ks, top_ps

    @property
    def rows(self):
        return sum(group.rows for group in self.groups)

    def join(self, groups):
        """Add the groups' rows, from zero state (they read their primes first)."""
        if not groups:
            return
        fresh = self.model.decoder.zero_states(sum(group.rows for group in groups))
        self.states = fresh if self.states is None else [
            tuple(np.concatenate([old, new]) for old, new in zip(layer, added))
            for layer, added in zip(self.states, fresh)]
        self.inputs = np.concatenate([self.inputs, np.zeros(len(fresh[0][0]), np.int64)])
        self.groups += groups
        self._settings()

    def leave(self):
        """Drop the rows of finished or cancelled groups, and set their `finished`; returns
        them."""
        keep, gone, start = [], [], 0
        for group in self.groups:
            if group.done:
                gone.append(group)
            else:
                keep.extend(range(start, start + group.rows))
            start += group.rows
        if gone:
            self.groups = [group for group in self.groups if not group.done]
            self.states = ([tuple(array[keep] for array in layer) for layer in self.states]
                           if self.groups else None)
            self.inputs = self.inputs[keep]
            self._settings()
            for group in gone:
                group.finished.set()
        return gone

    def step(self):
        """One character for every row: the next prime character for a row still reading its
        prime, else the one chosen for it at the last step. Returns the groups that made
        their first characters."""
        emitting, start = [], 0
        for group in self.groups:
            if group.position < group.primes.shape[1]:
                self.inputs[start:start + group.rows] = group.primes[:, group.position]
                group.position += 1
            if group.position == group.primes.shape[1]:  # its prime read: it emits
                emitting.append((group, start))
            start += group.rows
        decoder = self.model.decoder
        decoder.states = self.states
        top = decoder.step_rows(self.inputs)
        self.states = decoder.states
        if not emitting:
            return []
        rows = np.concatenate([np.arange(start, start + group.rows)
                               for group, start in emitting])
        chosen = self._choose(decoder.probabilities(top[rows]), rows, emitting)
        self.inputs[rows] = chosen
        chars, offset, first = self.model.checkpoint.vocabulary.chars, 0, []
        for group, _ in emitting:
            for text, index in zip(group.texts, chosen[offset:offset + group.rows]):
                text.append(chars[index])
            offset += group.rows
            group.produced += 1
            if group.produced == 1:
                first.append(group)
        return first

    def _choose(self, probabilities, rows, emitting):
        """Every emitting row's next character, in one call for the sampled rows: each group
        draws from its own generator, as make_chooser would."""
        chosen = np.argmax(probabilities, axis=1)  # greedy rows (temperature 0) keep this
        sampled = self.temperatures[rows] > 0
        if sampled.any():
            draws = np.concatenate([group.rng.random((group.rows, 1))
                                    for group, _ in emitting if group.sampled])
            picked = rows[sampled]
            chosen[sampled] = choose_rows(probabilities[sampled], self.temperatures[picked],
                                          self.top_ks[picked], self.top_ps[picked], draws)
        return chosen


class Engine:
    """The decoding thread and the models it serves (ServedModel, by name). on_step, if
    given, is called from that thread after a step with the groups that made their first
    characters or ended in it (the server wakes those requests with it); a request reads
    the rest of its text as it grows (Group.texts)."""

    def __init__(self, models, max_streams=256, on_step=None):
        self.models = {model.name: model for model in models}
        self.max_streams = max_streams
        self.on_step = on_step
        self._batches = {name: _Batch(model) for name, model in self.models.items()}
        self._joining = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="charlstm-decoder",
                                        daemon=True)
        self._thread.start()

    @property
    def streams(self):
        """Rows being decoded or about to join."""
        with self._lock:
            return self._busy()

    def _busy(self):
        return (sum(batch.rows for batch in self._batches.values())
                + sum(group.rows for group in self._joining))

    def submit(self, options, model=None):
        """A Group for GenerationOptions (checked by config), on the named model (default:
        the first); UserError for what generate.py would refuse, Busy when the streams are
        all taken (the server answers 429 then)."""
        served = self._model(model)
        vocabulary = served.checkpoint.vocabulary
        if options.top_k is not None and options.top_k > len(vocabulary):
            raise UserError(f"top_k {options.top_k} is more than the model's "
                            f"{len(vocabulary)} characters")
        seed = choose_seed(options.seed)
        # The generator draws the seed windows first, then one number a row a step: in the
        # order generation.start and sampling.make_chooser draw them.
        rng = np.random.default_rng(seed)
        primes = np.asarray(choose_primes(options, options.prime, served.checkpoint,
                                          served.seed_text, rng, FIELDS, report=None))
        chars = vocabulary.chars
        # what each row continues, as the model reads it (prepared, unknowns dropped)
        prime_texts = ["".join(chars[index] for index in row) for row in primes]
        group = Group(served, primes[:, -STATEFUL_PRIME_CONTEXT:], seed, options, rng)
        group.prime_texts = prime_texts
        with self._lock:
            if self._closed:
                raise ShuttingDown("the server is shutting down: try again later")
            busy = self._busy()
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

    def stop(self):
        """Without waiting: end every group at the next step (its error ShuttingDown), refuse
        new ones, and end the thread."""
        with self._lock:
            self._closed = True
        self._wake.set()

    def close(self):
        """stop(), and wait for the thread to end."""
        self.stop()
        self._thread.join(timeout=10)

    def _run(self):
        while True:
            with self._lock:
                joining, self._joining = self._joining, []
                closed = self._closed
            for batch in self._batches.values():
                batch.join([group for group in joining if group.model is batch.model])
            active = [batch for batch in self._batches.values() if batch.groups]
            if not active and not closed:
                self._wake.wait()  # nothing to decode: sleep until a request comes
                self._wake.clear()
                continue
            news = []
            for batch in active:
                news += self._step(batch, closed)
            if self.on_step and news:
                self.on_step(news)
            if closed:
                return

    @staticmethod
    def _step(batch, closed):
        """One step of a batch (none when closing: every group ends); the groups with news."""
        news = []
        try:
            if not closed:
                news = batch.step()
        except Exception as error:  # noqa: BLE001 - a bug: end these groups, not the server
            log(f"the decoder failed on model {batch.model.name}: {type(error).__name__}: "
                f"{error}; its {len(batch.groups)} request(s) ended")
            for group in batch.groups:
                group.error = error
        for group in batch.groups:
            if closed and not group.done:
                group.error = ShuttingDown("the server is shutting down: the text stopped "
                                           f"after {group.produced} characters")
            if closed or group.error:
                group.cancel()
        return news + batch.leave()


class Busy(UserError):
    """Every stream is taken: the request may be repeated later (HTTP 429)."""


class ShuttingDown(UserError):
    """The server is stopping (Ctrl-C, SIGTERM): requests under way end, new ones are refused
    (HTTP 503)."""

