"""serve.py under load: aggregate characters per second, and time to the first character, with
1, 8, 32 and 128 clients streaming at once (POST /generate/stream), against one client.

A real server process (serve.py, the bundled model unless --weights) on 127.0.0.1, and real
HTTP clients: one asyncio task each, all in this process, so that the clients cost as little
of the machine as they can (on 2 cores they still share it with the server). Every client
asks for --length characters from its own prime; "greedy" is temperature 0, "sampled" is
temperature 0.8 with top_p 0.95 and a seed of its own. A round starts every client at once
and ends when the last one has its "done" event:

- aggregate chars/s: all the characters of a round over its wall-clock time;
- first char: from a client's connect to its first characters, the median and the slowest.

Each figure is the median of --repeats rounds. The goal (issue 21): 32 clients get at least 10
times one client's aggregate rate, and their first character within 100 ms.

The last columns are the ceiling: the same model's StatefulDecoder alone, in this process
once the server has stopped (one BLAS thread, as serve.py runs it; no HTTP, no choice of
characters): characters a second with that many rows in one batch, and the ratio to one row.
No server can beat that ratio by batching, since every character costs one row of a step.

    python bench/serve.py                     # writes bench/results/serve.txt
    python bench/serve.py --clients 1 32 --repeats 1 --output ''
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import time

from common import ROOT, cpu_name, save_table, start_server

PRIMES = ["alice was ", "the queen ", "said the ", "the mock turtle ", "down the rabbit ",
          "'oh dear ", "the king ", "she said "]
MODES = {"greedy": {"temperature": 0}, "sampled": {"temperature": 0.8, "top_p": 0.95}}
GOAL_RATIO, GOAL_FIRST_MS = 10, 100


async def client(port, body):
    """One streaming request over HTTP/1.0 (the body ends when the server closes):
    (seconds to the first characters, characters, seconds to the end)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode()
    writer.write(b"POST /generate/stream HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: "
                 b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data))
    first, characters, event = None, 0, "message"
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"{status!r}: {await reader.read()!r}")
    async for line in reader:
        if line.startswith(b"event:"):
            event = line[6:].strip().decode()
        elif line.startswith(b"data:"):
            if event == "message":
                characters += len(json.loads(line[5:])["text"])
                first = first or time.perf_counter() - started
            elif event in ("done", "error"):
                break
            event = "message"
    writer.close()
    return first, characters, time.perf_counter() - started


async def one_round(port, clients, length, mode):
    """(aggregate chars/s, median first-char seconds, slowest first-char seconds)."""
    bodies = [dict(MODES[mode], prime=PRIMES[number % len(PRIMES)], length=length,
                   seed=number) for number in range(clients)]
    started = time.perf_counter()
    results = await asyncio.gather(*(client(port, body) for body in bodies))
    seconds = time.perf_counter() - started
    if any(characters != length for _, characters, _ in results):
        raise RuntimeError(f"a client got fewer than {length} characters")
    firsts = [first for first, _, _ in results]
    return clients * length / seconds, statistics.median(firsts), max(firsts)


def measure(port, clients, length, mode, repeats):
    rounds = [asyncio.run(one_round(port, clients, length, mode)) for _ in range(repeats)]
    return [statistics.median(values) for values in zip(*rounds)]


def decoder_rates(weights, sizes, steps=200):
    """{rows: characters a second} of the StatefulDecoder alone, with serve.py's one BLAS
    thread (set after the backend starts: TensorFlow's import resets it)."""
    from threadpoolctl import threadpool_limits

    from charlstm.system.backend import start_backend

    start_backend()
    import numpy as np

    from charlstm.generation.decoders import StatefulDecoder
    from charlstm.checkpoints.run_folder import BUNDLED_MODEL
    from charlstm.checkpoints.loading import load_for_generation

    model, checkpoint, _ = load_for_generation(weights or BUNDLED_MODEL)
    decoder = StatefulDecoder(model, checkpoint.topology)
    threadpool_limits(1, user_api="blas")
    rates = {}
    for rows in sizes:
        decoder.states = decoder.zero_states(rows)
        indices = np.zeros(rows, np.int64)
        best = 0.0
        for _ in range(3):  # the best of three: the machine is shared
            started = time.perf_counter()
            for _ in range(steps):
                indices = np.argmax(decoder.advance(indices), axis=1)
            best = max(best, rows * steps / (time.perf_counter() - started))
        rates[rows] = best
    return rates


def load_average():
    """The machine's 1-minute load average (it is shared: 2 means both cores were busy)."""
    try:
        with open("/proc/loadavg") as handle:
            return handle.read().split()[0]
    except OSError:
        return "unknown"


def table(rows, args, model_line, ceiling, loads):
    lines = [f"# serve.py: {args.length} characters per streaming client, all started at "
             f"once; median of {args.repeats} rounds; {cpu_name()}, clients in the same "
             f"machine; load average {loads[0]} at the start, {loads[1]} at the end",
             f"# {model_line}",
             f"{'mode':8} {'clients':>7} {'chars/s':>9} {'x one':>6} {'first char ms':>14} "
             f"{'slowest ms':>10} {'decoder alone':>14} {'x one':>6}"]
    alone = ceiling[min(ceiling)]
    for mode, clients, rate, first, slowest, ratio in rows:
        lines.append(f"{mode:8} {clients:7d} {rate:9.0f} {ratio:5.1f}x {first * 1000:14.0f} "
                     f"{slowest * 1000:10.0f} {ceiling[clients]:14.0f} "
                     f"{ceiling[clients] / alone:5.1f}x")
    for mode, clients, rate, first, slowest, ratio in rows:
        if clients == 32:
            met = ratio >= GOAL_RATIO and slowest * 1000 <= GOAL_FIRST_MS
            lines.append(f"goal ({mode}, 32 clients: >= {GOAL_RATIO}x one client's rate, first "
                         f"character within {GOAL_FIRST_MS} ms): {ratio:.1f}x, slowest first "
                         f"character {slowest * 1000:.0f} ms: {'met' if met else 'NOT met'}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", help="the checkpoint to serve (default: serve.py's)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results",
                                                         "serve.txt"))
    args = parser.parse_args()
    loads = [load_average()]
    from charlstm.checkpoints.run_folder import BUNDLED_MODEL

    process, port = start_server("--max-streams", str(max(args.clients)), "--weights",
                                 args.weights or BUNDLED_MODEL)
    try:
        asyncio.run(one_round(port, 4, 50, "sampled"))  # warm-up: imports, first allocations
        rows = []
        for mode in args.modes:
            one = None
            for clients in args.clients:
                rate, first, slowest = measure(port, clients, args.length, mode, args.repeats)
                one = one or rate
                rows.append((mode, clients, rate, first, slowest, rate / one))
                print(rows[-1], flush=True)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    served = next((line.strip() for line in process.log if line.startswith("serving ")), "")
    ceiling = decoder_rates(args.weights, args.clients)
    loads.append(load_average())
    save_table(table(rows, args, served, ceiling, loads), args.output)


if __name__ == "__main__":
    main()
