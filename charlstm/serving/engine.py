"""Many clients decoded together: serve.py's engine, with no HTTP in it (serving/server.py is the
web side).

Every request is a Group of rows (num_samples of them) of one model's batch. One thread steps
every model's batch by one character at a time, each row taking the character chosen for it at
the last step. A new request reads its prime apart (below) and then joins, and a finished or
cancelled one leaves at the next step and frees its rows. The arithmetic is the
StatefulDecoder's (float64: a row's numbers do not depend on the rows around it). Every row's
next character is chosen in one call (sampling.choose_rows) with its request's settings, each
request drawing from its own random generator, seeded and drawn exactly as generate.py draws
it, so a request's text is the text that `generate.py --stateful` writes for the same options,
alone or among 127 others.

A new request's prime is read apart from the running batch, before it joins: the newcomers of
a turn are stepped together in a small batch of their own, all their prime characters in one
go (at most PRIME_STEPS_PER_TURN steps a turn, so a 4,000-character prime delays the running
streams by a few such turns, not one long stall), and their first characters are chosen
there. They join the running batch with their states and first characters, so a client that
joins 31 busy streams waits one of its prime's short steps per character and one step of
the batch, not a step of the whole batch per prime character.

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

import copy
import dataclasses
import os
import threading

import numpy as np

from ..system.backend import choose_seed
from ..generation.decoders import STATEFUL_PRIME_CONTEXT, StatefulDecoder
from ..config import FIELDS
from ..errors import UserError
from ..checkpoints.run_folder import parse_checkpoint_name
from ..generation.generate import check_top_k, choose_primes
from ..checkpoints.format import Checkpoint
from ..checkpoints.loading import load_for_generation
from ..logs import log
from ..generation.items import check_items_options, make_items
from ..generation.sampling import choose_rows
from ..generation.stopping import StopAt, stop_texts


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
                "legacy": self.checkpoint.is_legacy,
                "documents_mode": self.checkpoint.documents_mode}


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
        self.states = None  # its rows' own states while it reads its prime
        self.texts = [[] for _ in range(self.rows)]
        # stop_at: a row that meets one stops growing; it is still stepped and drawn for
        # with the others, so that their texts are those generate.py writes
        self.stop = StopAt(stop_texts(options.stop_at), self.rows)
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
        return (self.cancelled or self.produced >= self.length
                or bool(self.stop.texts and self.stop.stopped.all()))

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


# How many prime characters the newcomers read in one turn of the engine, between two steps
# of the running batch: a prime up to this long is read in one go (bench/serve.py's are 16
# at most), and a longer one (--max-prime allows 4,000) goes on at the next turn, so that the
# running streams wait for at most this many short steps at a time.
PRIME_STEPS_PER_TURN = 64


def _row_settings(groups, size):
    """Each row's (temperatures, top_ks, top_ps), for sampling.choose_rows; size: the
    vocabulary's (a top_k of None keeps every character)."""
    per_row = [(group.options.temperature, group.options.top_k or size, group.options.top_p)
               for group in groups for _ in range(group.rows)]
    if not per_row:
        return (np.zeros(0),) * 3
    return tuple(np.array(column) for column in zip(*per_row))


def _choose(probabilities, groups, settings):
    """Every row's next character (the groups' rows in order), in one call for the sampled
    rows: each group draws from its own generator, one number a row, as make_chooser would."""
    temperatures, top_ks, top_ps = settings
    chosen = np.argmax(probabilities, axis=1)  # greedy rows (temperature 0) keep this
    sampled = temperatures > 0
    if sampled.any():
        draws = np.concatenate([group.rng.random((group.rows, 1))
                                for group in groups if group.sampled])
        chosen[sampled] = choose_rows(probabilities[sampled], temperatures[sampled],
                                      top_ks[sampled], top_ps[sampled], draws)
    return chosen


def _append(groups, chosen):
    """Each group's rows' new characters (chosen, the groups' rows in order)."""
    offset = 0
    for group in groups:
        chars = group.model.checkpoint.vocabulary.chars
        for row, index in enumerate(chosen[offset:offset + group.rows]):
            if not group.stop.stopped[row]:
                group.texts[row].append(chars[index])
                group.stop.feed(row, chars[index])
        offset += group.rows
        group.produced += 1


def _stack(states_list):
    """Several row blocks' states (each per layer a tuple of arrays) as one block."""
    return [tuple(np.concatenate(arrays) for arrays in zip(*layers))
            for layers in zip(*states_list)]


def _rows(states, rows):
    return [tuple(array[rows] for array in layer) for layer in states]


class _Batch:
    """One model's rows: the running groups in row order, their stacked recurrent states,
    each row's next input character and sampling settings; and the newcomers still reading
    their primes, apart (each with its own states until it joins)."""

    def __init__(self, model):
        self.model = model
        self.size = len(model.checkpoint.vocabulary)
        self.groups = []
        self.reading = []  # newcomers reading their primes, each with group.states
        self.states = None  # per layer, a tuple of (rows, units) arrays
        self.inputs = np.zeros(0, np.int64)
        self.settings = _row_settings([], self.size)

    @property
    def rows(self):
        return sum(group.rows for group in self.groups + self.reading)

    @property
    def busy(self):
        return bool(self.groups or self.reading)

    def take(self, groups):
        """Newcomers: they read their primes from zero state, apart from the running rows."""
        for group in groups:
            group.states = self.model.decoder.zero_states(group.rows)
        self.reading += groups

    def step(self):
        """One character for every running row, then a turn of the newcomers' primes; the
        groups that made their first characters (those that finished their primes)."""
        if self.groups:
            decoder = self.model.decoder
            decoder.states = self.states
            probabilities = decoder.probabilities(decoder.step_rows(self.inputs))
            self.states = decoder.states
            self.inputs = _choose(probabilities, self.groups, self.settings)
            _append(self.groups, self.inputs)
        return self._read() if self.reading else []

    def _read(self):
        """Up to PRIME_STEPS_PER_TURN characters of every newcomer's prime, the newcomers'
        rows stepped together (those whose primes are shorter drop out as they end); the
        newcomers that read their whole primes choose their first characters and join."""
        decoder, groups = self.model.decoder, self.reading
        starts = np.cumsum([0] + [group.rows for group in groups])
        states, tops = _stack([group.states for group in groups]), [None] * len(groups)
        for _ in range(PRIME_STEPS_PER_TURN):
            active = [n for n, group in enumerate(groups)
                      if group.position < group.primes.shape[1]]
            if not active:
                break
            rows = np.concatenate([np.arange(starts[n], starts[n + 1]) for n in active])
            subset = len(rows) < starts[-1]
            decoder.states = _rows(states, rows) if subset else states
            top = decoder.step_rows(np.concatenate(
                [groups[n].primes[:, groups[n].position] for n in active]))
            states = self._put(states, decoder.states, rows) if subset else decoder.states
            offset = 0
            for n in active:
                group = groups[n]
                group.position += 1
                if group.position == group.primes.shape[1]:  # its last prime character
                    tops[n] = top[offset:offset + group.rows]
                offset += group.rows
        for n, group in enumerate(groups):
            group.states = _rows(states, np.arange(starts[n], starts[n + 1]))
        read = [group for group, top in zip(groups, tops) if top is not None]
        self.reading = [group for group, top in zip(groups, tops) if top is None]
        if read:
            self._join(read, np.concatenate([top for top in tops if top is not None]))
        return read

    @staticmethod
    def _put(states, new, rows):
        """states with the given rows replaced by new (fresh arrays: zero_states shares one
        array between a layer's states)."""
        replaced = []
        for layer, added in zip(states, new):
            arrays = []
            for array, rows_new in zip(layer, added):
                array = array.copy()
                array[rows] = rows_new
                arrays.append(array)
            replaced.append(tuple(arrays))
        return replaced

    def _join(self, groups, tops):
        """The groups that read their primes (tops: their rows' top hidden states) choose
        their first characters and join the running rows with their states."""
        chosen = _choose(self.model.decoder.probabilities(tops), groups,
                         _row_settings(groups, self.size))
        _append(groups, chosen)
        joined = _stack([group.states for group in groups])
        self.states = joined if self.states is None else _stack([self.states, joined])
        self.inputs = np.concatenate([self.inputs, chosen])
        self.groups += groups
        for group in groups:
            group.states = None  # the batch's states are its states now
        self.settings = _row_settings(self.groups, self.size)

    def leave(self):
        """Drop the rows of finished or cancelled groups, running or reading, and set their
        `finished`; returns them."""
        gone = [group for group in self.reading if group.done]
        self.reading = [group for group in self.reading if not group.done]
        keep, start = [], 0
        for group in self.groups:
            if group.done:
                gone.append(group)
            else:
                keep.extend(range(start, start + group.rows))
            start += group.rows
        if len(keep) < start:
            self.groups = [group for group in self.groups if not group.done]
            self.states = _rows(self.states, keep) if self.groups else None
            self.inputs = self.inputs[keep]
            self.settings = _row_settings(self.groups, self.size)
        for group in gone:
            group.finished.set()
        return gone


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
        check_top_k(options.top_k, vocabulary, FIELDS)
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

    def write_items(self, options, model=None):
        """generation.items.WrittenItems for a request with items (and new_only): written
        in the caller's thread (the server's worker thread, not the decoding one) with a
        copy of the model's decoder, whose weights it shares and whose state is its own."""
        served = self._model(model)
        check_items_options(options, FIELDS)
        written = make_items(copy.copy(served.decoder), served.checkpoint, served.seed_text,
                             options, served.path, spelling=FIELDS)
        written.model = served.name
        return written

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
                batch.take([group for group in joining if group.model is batch.model])
            active = [batch for batch in self._batches.values() if batch.busy]
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
                f"{error}; its {len(batch.groups + batch.reading)} request(s) ended")
            for group in batch.groups + batch.reading:
                group.error = error
        for group in batch.groups + batch.reading:
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

