"""serve.py under load: aggregate characters per second and time to first character with 1,
8, 32 and 128 concurrent streaming clients, against one client, on this machine.

A real server process (the bundled model unless --weights), and clients in this process on
asyncio (one connection each, POST /generate/stream, greedy, each its own prime). Each
level is run --rounds times, the levels interleaved round by round, so that a slower stretch
of a shared machine does not fall on one level. The clients share the CPU with the server:
on a 2-core machine they take part of it, so the figures are a floor.

    python bench/serve.py                      # bench/results/serve.txt
    python bench/serve.py --length 100 --rounds 1 --output /tmp/serve.txt   # a quick look
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

import common

sys.path.insert(0, os.path.join(common.ROOT, "tests"))
from conftest import start_server, stop  # noqa: E402  (the tests' way to start serve.py)

from charlstm.folder import BUNDLED_MODEL  # noqa: E402

PRIMES = ["alice was ", "the queen ", "'oh dear ", "the mock turtle ", "down the ",
          "she said ", "the king ", "and then "]


async def client(port, body):
    """(seconds to the first character, characters, seconds to the end) of one stream."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode()
    writer.write(b"POST /generate/stream HTTP/1.1\r\nHost: bench\r\nContent-Type: "
                 b"application/json\r\nContent-Length: " + str(len(data)).encode()
                 + b"\r\nConnection: close\r\n\r\n" + data)
    await writer.drain()
    first, characters, event = None, 0, None
    while True:
        line = await reader.readline()
        if not line:
            break
        line = line.decode().rstrip("\r\n")
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            if event is None:
                text = json.loads(line[5:])["text"]
                if first is None and text:
                    first = time.perf_counter() - started
                characters += len(text)
            elif event in ("done", "error"):
                break
            event = None
    writer.close()
    return first, characters, time.perf_counter() - started


async def level(port, clients, length):
    started = time.perf_counter()
    results = await asyncio.gather(*(client(port, {"prime": PRIMES[number % len(PRIMES)],
                                                   "length": length})
                                     for number in range(clients)))
    seconds = time.perf_counter() - started
    characters = sum(result[1] for result in results)
    assert characters == clients * length, "a stream came back short"
    firsts = sorted(result[0] for result in results)
    return characters / seconds, statistics.median(firsts), firsts[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=BUNDLED_MODEL, help="the model to serve")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--length", type=int, default=500, help="characters a client")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", default=os.path.join(common.ROOT, "bench", "results",
                                                         "serve.txt"))
    arguments = parser.parse_args()
    process, port = start_server("--weights", arguments.weights, "--max-streams",
                                 str(max(arguments.levels)), cwd=common.ROOT)
    try:
        asyncio.run(level(port, 1, 50))  # warm-up
        figures = {clients: [] for clients in arguments.levels}
        for _ in range(arguments.rounds):
            for clients in arguments.levels:
                figures[clients].append(asyncio.run(level(port, clients, arguments.length)))
    finally:
        stop(process)
    one = statistics.mean(rate for rate, _, _ in figures[arguments.levels[0]])
    lines = [f"serve.py, {os.path.basename(arguments.weights)}: {arguments.length} greedy "
             f"characters a streaming client, {arguments.rounds} rounds interleaved "
             f"(mean; first character: median and worst over the clients, mean over rounds)",
             f"machine: {common.cpu_name()}; clients in the same machine's other process",
             "", "| clients | characters/s, all clients | × one client | first character: "
             "median | worst |", "|---|---|---|---|---|"]
    for clients in arguments.levels:
        rate = statistics.mean(rate for rate, _, _ in figures[clients])
        spread = statistics.pstdev(rate for rate, _, _ in figures[clients])
        median = statistics.mean(first for _, first, _ in figures[clients])
        worst = statistics.mean(last for _, _, last in figures[clients])
        lines.append(f"| {clients} | {rate:,.0f} ± {spread:,.0f} | {rate / one:.1f} | "
                     f"{median * 1000:.0f} ms | {worst * 1000:.0f} ms |")
    at_32 = figures.get(32)
    if at_32:
        ratio = statistics.mean(rate for rate, _, _ in at_32) / one
        worst = statistics.mean(last for _, _, last in at_32)
        lines += ["", f"goal: 32 clients at least 10x one client's rate: {ratio:.1f}x "
                  f"({'met' if ratio >= 10 else 'not met'}); first character within 100 ms "
                  f"at 32 clients: worst {worst * 1000:.0f} ms "
                  f"({'met' if worst <= 0.1 else 'not met'})"]
    common.save_table("\n".join(lines), arguments.output)


if __name__ == "__main__":
    main()
