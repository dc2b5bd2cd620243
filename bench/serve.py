"""serve.py under load: aggregate characters per second with 1, 8, 32 and 128 clients streaming
at once (POST /generate/stream), against one client and against the decoder alone on as many
rows; and how soon a client that joins that many busy streams gets its first character.

A real server process (serve.py, the bundled model unless --weights) on 127.0.0.1, and real
HTTP clients: one asyncio task each, all in this process, so that the clients cost as little
of the machine as they can (on 2 cores they still share it with the server). Every client
asks for its own prime; "greedy" is temperature 0, "sampled" is temperature 0.8 with top_p
0.95 and a seed of its own. Each figure is the median of --repeats rounds:

- chars/s: N clients started at once, --length characters each: all the characters of a
  round over its wall-clock time; "x one" against one client's rate;
- joining: N - 1 clients stream (JOIN_BUSY_LENGTH characters each); once all have their
  first characters, JOINERS clients join one after another, and each one's time from its
  connect to its first characters is kept: the median and the slowest over every round;
- decoder alone: the same model's StatefulDecoder on N rows (one BLAS thread, as serve.py
  runs it; no HTTP, no sampling: the argmax fed back), in this process, measured before the
  server starts and after it stops (the better of the two, so that the share is not
  flattered by a busier machine during one of them); "share" is the server's rate over it.

The goals (issue 29): a client joining 31 busy streams gets its first character within
100 ms, and the server at 32 clients gives at least 80% of the decoder alone's rate.

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
GOAL_SHARE, GOAL_FIRST_MS = 0.8, 100
JOINERS, JOIN_BUSY_LENGTH, JOIN_LENGTH = 5, 300, 5


async def client(port, body, on_first=None):
    """One streaming request over HTTP/1.0 (the body ends when the server closes):
    (seconds to the first characters, characters, seconds to the end); on_first() is called
    when the first characters come."""
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
                if first is None:
                    first = time.perf_counter() - started
                    if on_first:
                        on_first()
            elif event in ("done", "error"):
                break
            event = "message"
    writer.close()
    return first, characters, time.perf_counter() - started


def bodies(clients, length, mode, first_seed=0):
    return [dict(MODES[mode], prime=PRIMES[number % len(PRIMES)], length=length,
                 seed=first_seed + number) for number in range(clients)]


async def one_round(port, clients, length, mode):
    """Aggregate chars/s of `clients` started at once."""
    started = time.perf_counter()
    results = await asyncio.gather(*(client(port, body)
                                     for body in bodies(clients, length, mode)))
    seconds = time.perf_counter() - started
    if any(characters != length for _, characters, _ in results):
        raise RuntimeError(f"a client got fewer than {length} characters")
    return clients * length / seconds


async def join_round(port, busy, mode):
    """Seconds to the first characters of JOINERS clients, each joining `busy` streams."""
    streaming, count = asyncio.Event(), [0]

    def one_more():
        count[0] += 1
        if count[0] == busy:
            streaming.set()

    tasks = [asyncio.create_task(client(port, body, one_more))
             for body in bodies(busy, JOIN_BUSY_LENGTH, mode)]
    if busy:
        await streaming.wait()
    firsts = []
    for number in range(JOINERS):
        body = bodies(1, JOIN_LENGTH, mode, first_seed=1000 + number)[0]
        firsts.append((await client(port, body))[0])
    if any(task.done() for task in tasks):
        raise RuntimeError("a busy stream ended before the joiners: raise JOIN_BUSY_LENGTH")
    await asyncio.gather(*tasks)
    return firsts


def measure(port, clients, length, mode, repeats):
    """(median chars/s, median and slowest first-character seconds of a joining client)."""
    rates, firsts = [], []
    for _ in range(repeats):
        rates.append(asyncio.run(one_round(port, clients, length, mode)))
        firsts += asyncio.run(join_round(port, clients - 1, mode))
    return statistics.median(rates), statistics.median(firsts), max(firsts)


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
             f"once; median of {args.repeats} rounds; {cpu_name()}, shared with other work "
             f"(load average {loads[0]} at the start, {loads[1]} at the end), which "
             f"depresses absolute figures: the claims are the ratios within this run",
             f"# joining: a client joining N - 1 busy streams, {JOINERS} a round, time to its "
             f"first characters; decoder alone: the StatefulDecoder on N rows, the better "
             f"of before and after the server's rounds",
             f"# {model_line}",
             f"{'mode':8} {'clients':>7} {'chars/s':>9} {'x one':>6} {'join median ms':>14} "
             f"{'join slowest ms':>15} {'decoder alone':>13} {'share':>6}"]
    for mode, clients, rate, first, slowest, ratio in rows:
        lines.append(f"{mode:8} {clients:7d} {rate:9.0f} {ratio:5.1f}x {first * 1000:14.0f} "
                     f"{slowest * 1000:15.0f} {ceiling[clients]:13.0f} "
                     f"{rate / ceiling[clients]:6.0%}")
    for mode, clients, rate, first, slowest, ratio in rows:
        if clients == 32:
            share = rate / ceiling[clients]
            lines.append(
                f"goal ({mode}, a client joining 31 busy streams gets its first character "
                f"within {GOAL_FIRST_MS} ms): slowest {slowest * 1000:.0f} ms: "
                f"{'met' if slowest * 1000 <= GOAL_FIRST_MS else 'NOT met'}")
            lines.append(
                f"goal ({mode}, 32 clients give >= {GOAL_SHARE:.0%} of the decoder alone's "
                f"rate on 32 rows): {share:.0%}: {'met' if share >= GOAL_SHARE else 'NOT met'}")
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

    before = decoder_rates(args.weights, args.clients)
    process, port = start_server("--max-streams", str(max(args.clients) + 8), "--weights",
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
    after = decoder_rates(args.weights, args.clients)
    ceiling = {rows: max(before[rows], after[rows]) for rows in before}
    loads.append(load_average())
    save_table(table(rows, args, served, ceiling, loads), args.output)


if __name__ == "__main__":
    main()
