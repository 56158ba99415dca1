#!/usr/bin/env python3
"""Runs one of the examples/seeds programs (ports of the Rust concurrency articles) and checks
what its output must contain whatever the interleaving: final counts and sums, every message
received (as a set), the order within each thread of control, the web server's answers on
loopback.

Usage: seeds.py <examples/seeds-build-dir> <program>
Every wait is for an event (the program's exit, a line, an answer) with a generous bound; no
check depends on how long something took."""

import os
import re
import socket
import subprocess
import sys

BOUND = 30.0  # seconds; generous, only hit when something is broken


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def run(d, name, *args):
    """Runs the program to completion; returns its stdout lines (it must exit with 0)."""
    r = subprocess.run([os.path.join(d, name), *args], capture_output=True, text=True, timeout=BOUND)
    print(f"$ {name} {' '.join(args)}".rstrip())
    print(r.stdout if len(r.stdout) < 4000 else r.stdout[:2000] + "\n...\n", end="")
    expect(r.returncode == 0, f"{name} exited with {r.returncode}; stderr: {r.stderr!r}")
    expect(r.stderr == "", f"{name} wrote to stderr: {r.stderr!r}")
    return r.stdout.splitlines()


def same_lines(got, want, what):
    expect(sorted(got) == sorted(want), f"{what}: got {sorted(got)}, want {sorted(want)} (in any order)")


def in_order(lines, subsequence, what):
    """The lines of `subsequence` appear in `lines` in this order (others may come between)."""
    pos = [lines.index(s) if s in lines else -1 for s in subsequence]
    expect(-1 not in pos and pos == sorted(pos), f"{what}: expected in this order: {subsequence}; got {lines}")


def sections(lines):
    """Splits output at "-- title" lines: {title: [lines]}."""
    out, cur = {}, None
    for l in lines:
        if l.startswith("-- "):
            cur = l[3:]
            out[cur] = []
        elif cur is not None:
            out[cur].append(l)
    return out


def hello_thread(d):
    lines = run(d, "hello_thread")
    expect(lines == ["Hello from another thread!", "Hello from a coroutine!", "Hello from a blocking-pool thread!"],
           f"hello_thread: {lines}")


def thread_counting(d):
    lines = run(d, "thread_counting")
    new = [f"New thread: count {i}" for i in range(1, 6)] + ["New thread: I'm done!"]
    main = (["Main thread: Starting up!"] + [f"Main thread: working... {i}" for i in range(1, 4)] +
            ["Main thread: Waiting for the new thread to finish..."])
    same_lines(lines, new + main, "thread_counting")
    expect(lines[0] == "Main thread: Starting up!", "thread_counting: main starts first")
    in_order(lines, new, "the new thread's count")
    in_order(lines, main, "main's count")


def move_into_task(d):
    lines = run(d, "move_into_task")
    expect(lines == ["Spawned thread received message: 'Hello from the main thread!'",
                     "Spawned thread received number: 42",
                     "Here's a vector: [1, 2, 3]"], f"move_into_task: {lines}")


def join_result(d):
    lines = run(d, "join_result")
    same_lines(lines, ["Worker (Success): Starting computation...", "Worker (Success): Computation finished.",
                       "Worker (Panic): I'm about to panic!", "Main: Successful worker returned: 42",
                       "Main: Panicking worker failed as expected: The worker thread has panicked!",
                       "Main: Program continues running."], "join_result")
    in_order(lines, ["Worker (Success): Computation finished.", "Main: Successful worker returned: 42",
                     "Main: Panicking worker failed as expected: The worker thread has panicked!",
                     "Main: Program continues running."], "join_result")


def shared_config(d):
    lines = run(d, "shared_config")
    same_lines(lines, [f"Thread {i}: Using API URL 'https://api.example.com/data' with max retries 5" for i in range(3)],
               "shared_config")


def mutex_counter(d):
    lines = run(d, "mutex_counter")
    same_lines(lines, [f"Thread {i}: Finished incrementing." for i in range(5)] + ["Final counter value = 50"],
               "mutex_counter")
    expect(lines[-1] == "Final counter value = 50", "mutex_counter: the final value comes last")
    lines = run(d, "mutex_counter", "--tasks", "10", "--increments", "1000")
    expect(lines[-1] == "Final counter value = 10000" and len(lines) == 11, f"mutex_counter 10 x 1000: {lines}")


def rwlock_cache(d):
    lines = run(d, "rwlock_cache")
    # The readers wait until the writer holds the lock, so they get in only after it let go.
    expect(lines[:2] == ["Writer: Acquired write lock. Populating cache...",
                         "Writer: Cache populated. Releasing write lock."], f"rwlock_cache: writer first: {lines}")
    readers = [[f"Reader {i}: Acquired read lock.", f"Reader {i}: Found url1: 'Data for URL1'"] for i in range(3)]
    same_lines(lines[2:], sum(readers, []), "rwlock_cache readers")
    for r in readers:
        in_order(lines, r, "a reader")


def rwlock_vector(d):
    lines = run(d, "rwlock_vector")
    reads = [l for l in lines if l.startswith("Read data: ")]
    expect(len(reads) == 5 and len(lines) == 6, f"rwlock_vector: {lines}")
    for l in reads:
        values = [int(x) for x in l[len("Read data: "):].strip("[]").split(", ")]
        expect(len(values) == 10 and len(set(values)) == 1 and 0 <= values[0] <= 5, f"a torn or impossible read: {l}")
    expect(lines[-1] == "Final data: [" + ", ".join(["5"] * 10) + "]", f"rwlock_vector final: {lines[-1]}")


def hello_channel(d):
    expect(run(d, "hello_channel") == ["Received: Hello, Rust!"], "hello_channel")


def producers_consumer(d):
    lines = run(d, "producers_consumer")
    received = [l for l in lines if l.startswith("Consumer: Received: ")]
    same_lines(received, [f"Consumer: Received: '{m}'" for m in
                          ["Alpha from Producer 1", "Beta from Producer 1", "Gamma from Producer 2", "Delta from Producer 2"]],
               "producers_consumer messages")
    in_order(lines, ["Consumer: Received: 'Alpha from Producer 1'", "Consumer: Received: 'Beta from Producer 1'"], "producer 1")
    in_order(lines, ["Consumer: Received: 'Gamma from Producer 2'", "Consumer: Received: 'Delta from Producer 2'"], "producer 2")
    expect("Consumer: Waiting for messages..." in lines, "producers_consumer: no waiting line")
    for p in (1, 2):
        in_order(lines, [f"Producer {p}: All messages sent.", "Consumer: Channel disconnected, all producers finished."],
                 "the consumer ends after every producer")
    expect(lines[-1] == "Consumer: Channel disconnected, all producers finished." and len(lines) == 8,
           f"producers_consumer: {lines}")


def start_signal(d):
    lines = run(d, "start_signal")
    same_lines(lines, ["Worker: Waiting for start signal...", "Main: Performing setup...",
                       "Main: Setup complete. Sending start signal.", "Worker: Signal received! Starting work...",
                       "Main: Received from worker: 'Computation complete!'"], "start_signal")
    in_order(lines, ["Worker: Waiting for start signal...", "Worker: Signal received! Starting work..."], "worker")
    in_order(lines, ["Main: Performing setup...", "Main: Setup complete. Sending start signal.",
                     "Worker: Signal received! Starting work...", "Main: Received from worker: 'Computation complete!'"],
             "handshake")


def atomic_counter(d):
    expect(run(d, "atomic_counter") == ["Counter: 10000"], "atomic_counter")
    expect(run(d, "atomic_counter", "--increments", "1") == ["Counter: 10"], "atomic_counter 10 x 1")


def par_squares(d):
    for n in (100_000, 1000):
        lines = run(d, "par_squares", *([] if n == 100_000 else ["--n", str(n)]))
        expect(len(lines) == 1 and lines[0].startswith("output: ["), f"par_squares: {lines[:1]}")
        values = [int(x) for x in lines[0][len("output: ["):-1].split(", ")]
        expect(values == [i * i for i in range(n)], f"par_squares: wrong squares for n = {n}")


def par_sum(d):
    expect(run(d, "par_sum") == ["55"], "par_sum")


def join_all_tasks(d):
    lines = run(d, "join_all_tasks")
    same_lines(lines[:3], [f"task {n} finished after {ms} ms" for n, ms in (("one", 30), ("two", 20), ("three", 10))],
               "join_all_tasks: each task ran")
    expect(lines[3:] == ["result: task one done", "result: task two done", "result: task three done"],
           f"join_all_tasks: results in input order: {lines[3:]}")


def block_on_sleep(d):
    s = sections(run(d, "block_on_sleep"))
    expect(list(s) == ["sequential, blocking sleep", "concurrent, blocking sleep", "concurrent, corio::sleep",
                       "concurrent, spawn_blocking"], f"block_on_sleep sections: {list(s)}")
    start = [f"Task {i}: Starting fetch..." for i in (1, 2)]
    done = [f"Task {i}: Fetch complete." for i in (1, 2)]
    got = ["Got: Data from task 1", "Got: Data from task 2"]
    seq = s["sequential, blocking sleep"]
    expect(seq[:-1] == [start[0], done[0], got[0], start[1], done[1], got[1]], f"sequential: {seq}")
    for title, lines in s.items():
        body = [l for l in lines if not l.startswith("   (took")]
        same_lines(body, start + done + got, title)
        fetch = [l for l in body if l.startswith("Task ")]
        if title == "concurrent, blocking sleep":
            # One thread that sleeps: whichever fetch starts first also finishes before the other starts.
            expect(fetch[0][:6] == fetch[1][:6] and fetch[2][:6] == fetch[3][:6] and "Starting" in fetch[0],
                   f"{title}: the fetches should not overlap: {fetch}")
        elif title != "sequential, blocking sleep":
            expect(all("Starting" in l for l in fetch[:2]), f"{title}: both fetches should start before either ends: {fetch}")


def bounded_channel(d):
    expect(run(d, "bounded_channel") == ["Received value: 10",
                                         "try_send: 10 values accepted, then the channel was full (capacity 10)",
                                         "received 1; then the send of 11 went in: 10 values queued"], "bounded_channel")


def even_odd(d):
    s = sections(run(d, "even_odd"))
    own = s["each thread on its own"]
    evens = [f"even: {n}" for n in range(2, 21, 2)]
    odds = [f"odd: {n}" for n in range(1, 20, 2)]
    same_lines(own, evens + odds, "even_odd, part 1")
    in_order(own, evens, "the even thread")
    in_order(own, odds, "the odd thread")
    expect(s["taking turns"] == [f"{'odd' if n % 2 else 'even'}: {n}" for n in range(1, 21)],
           f"even_odd: not alternating: {s['taking turns']}")


def counter_mutex_atomic(d):
    expect(run(d, "counter_mutex_atomic") == ["mutex counter: 80000 (expected 80000)",
                                              "atomic counter: 80000 (expected 80000)"], "counter_mutex_atomic")


def channel_sum(d):
    expect(run(d, "channel_sum") == ["Receiver: got 100 numbers, sum = 5050"], "channel_sum")
    expect(run(d, "channel_sum", "--count", "10000") == ["Receiver: got 10000 numbers, sum = 50005000"], "channel_sum 10000")


def concurrent_flag(d):
    lines = run(d, "concurrent_flag")
    expect(len(lines) == 3 and "Setter: the flag is now true" in lines, f"concurrent_flag: {lines}")
    checker = [l for l in lines if l.startswith("Checker: ")]
    expect(checker[0] in ("Checker: the flag is already set", "Checker: the flag is not set yet; waiting"),
           f"concurrent_flag: {checker}")
    expect(checker[1] == "Checker: the flag is true; the setter left the note 'set by the setter thread'",
           f"concurrent_flag: {checker}")


def thread_pool(d):
    lines = run(d, "thread_pool")
    want = [f"job {i}: failed: 3 is not welcome here" if i == 3 else f"job {i}: {i * i}" for i in range(8)]
    want.append("pool: 3 threads; 1 job failed and the pool kept going: 12 * 12 = 144")
    expect(lines == want, f"thread_pool: {lines}")


def web_server(d):
    connections = 7
    p = subprocess.Popen([os.path.join(d, "web_server"), "--port", "0", "--threads", "2", "--requests", str(connections)],
                         stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        expect(m, f"web_server: no 'listening on' line, got {line!r}")
        port = int(m.group(1))

        def connect():
            s = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
            s.settimeout(BOUND)
            return s

        def answer(s):
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            s.close()
            return data

        def ask(request):
            s = connect()
            s.sendall(request)
            return answer(s)

        # Concurrency: a client that has sent only half its request holds its own connection;
        # four others are answered meanwhile (connections 1-5).
        slow = connect()
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        clients = [connect() for _ in range(4)]
        for c in clients:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for c in clients:
            r = answer(c)
            expect(r.startswith(b"HTTP/1.1 200 OK\r\n") and r.endswith(b"\r\n\r\nHello from corio!\n"), f"GET /: {r!r}")
        slow.sendall(b"\r\n")
        r = answer(slow)
        expect(r.startswith(b"HTTP/1.1 200 OK\r\n"), f"the slow client: {r!r}")
        r = ask(b"GET /missing HTTP/1.1\r\n\r\n")  # 6
        expect(r.startswith(b"HTTP/1.1 404 Not Found\r\n"), f"GET /missing: {r!r}")
        r = ask(b"NONSENSE\r\n\r\n")  # 7
        expect(r.startswith(b"HTTP/1.1 400 Bad Request\r\n"), f"a bad request: {r!r}")
        expect(p.wait(timeout=BOUND) == 0, f"web_server exited with {p.returncode}")
        rest = p.stdout.read()
        expect(f"web_server: answered {connections} connections" in rest, f"web_server: last line {rest!r}")
        print(f"web_server: 200 (5 at once, one of them slow), 404, 400, exit after {connections}: ok")
    finally:
        if p.poll() is None:
            p.kill()


if __name__ == "__main__":
    globals()[sys.argv[2]](sys.argv[1])
