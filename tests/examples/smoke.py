#!/usr/bin/env python3
"""Smoke tests of the examples. The network ones run on loopback: starts a server on a free
port (the server prints the address it listens on), talks to it, checks the answers, stops it.
The others run to completion and must print exactly the expected lines.

Usage: smoke.py <examples-build-dir> echo|http|chat|metrics|config_reload|par_from_async
Every wait is for an event (a line, an answer, end of stream) with a generous bound."""

import os
import socket
import subprocess
import sys

from loopback import BOUND, expect, read_to_eof, read_until, serving


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
    s.settimeout(BOUND)
    return s


def echo(d):
    with serving(os.path.join(d, "echo_server")) as (_, port):
        r = subprocess.run([os.path.join(d, "echo_client"), "--port", str(port), "--conns", "20", "--msgs", "50"],
                           capture_output=True, text=True, timeout=120)
        print(r.stdout, end="")
        expect(r.returncode == 0, f"echo_client failed: {r.stderr}")
        expect("1000 messages echoed" in r.stdout, f"unexpected output {r.stdout!r}")


def metrics(d):
    with serving(os.path.join(d, "metrics_server")) as (_, port):
        s = connect(port)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = read_until(s, b"corio_worker_timers_armed{worker=\"1\"}")
        expect(resp.startswith(b"HTTP/1.1 200 OK") and b"# TYPE corio_tasks_spawned_total counter" in resp,
               f"/metrics: {resp!r}")
        s.sendall(b"GET /tasks HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = read_until(s, b"waiting on corio::sleep")
        expect(b"metrics_server.cpp:" in resp, f"/tasks without spawn locations: {resp!r}")
        s.sendall(b"GET /nope HTTP/1.1\r\n\r\n")
        resp = read_until(s, b"try /metrics")
        expect(b"HTTP/1.1 404 Not Found" in resp, f"/nope: {resp!r}")
        s.close()


def http(d):
    get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    with serving(os.path.join(d, "http_hello"), "--idle-ms", "300") as (_, port):
        s = connect(port)  # keep-alive: two requests on one connection
        for _ in range(2):
            s.sendall(get)
            resp = read_until(s, b"Hello, World!")
            expect(resp.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: 13" in resp, f"bad response {resp!r}")
        s.close()
        s = connect(port)  # pipelined
        s.sendall(get * 3 + b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        resp = read_to_eof(s)
        expect(resp.count(b"HTTP/1.1 200 OK") == 4 and b"Connection: close" in resp, f"pipelining: {resp!r}")
        s = connect(port)  # malformed
        s.sendall(b"NONSENSE\r\n\r\n")
        resp = read_to_eof(s)
        expect(resp.startswith(b"HTTP/1.1 400 "), f"malformed: {resp!r}")
        s = connect(port)  # oversized header block
        s.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 10000 + b"\r\n\r\n")
        resp = read_to_eof(s)
        expect(resp.startswith(b"HTTP/1.1 431 "), f"oversized: {resp!r}")
        s = connect(port)  # HTTP/1.0 without keep-alive closes
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        resp = read_to_eof(s)
        expect(b"Hello, World!" in resp, f"HTTP/1.0: {resp!r}")
        s = connect(port)  # a body is skipped
        s.sendall(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + get)
        resp = read_until(s, b"Hello, World!")
        resp += read_until(s, b"Hello, World!") if resp.count(b"Hello, World!") < 2 else b""
        expect(resp.count(b"200 OK") == 2, f"body: {resp!r}")
        s.close()
        s = connect(port)  # a silent client is disconnected after --idle-ms
        expect(read_to_eof(s) == b"", "idle client got data")
        print("http_hello: keep-alive, pipelining, close, 400, 431, HTTP/1.0, bodies, idle timeout: ok")


def chat(d):
    with serving(os.path.join(d, "chat_server")) as (_, port):
        a = connect(port)
        read_until(a, b"welcome")
        b = connect(port)
        read_until(b, b"welcome")
        read_until(a, b"joined")
        a.sendall(b"hello from a\n")
        got = read_until(b, b"hello from a\n")
        expect(b": hello from a" in got, f"b got {got!r}")
        b.sendall(b"hi a\n")
        expect(b"hi a" in read_until(a, b"hi a\n"), "a did not get b's line")
        b.close()
        expect(b"left" in read_until(a, b"left"), "no leave notice")
        print("chat_server: lines relayed between clients: ok")


def run_exact(d, name, want):
    """Runs an example to completion; its stdout must be `want` line for line."""
    r = subprocess.run([os.path.join(d, name)], capture_output=True, text=True, timeout=BOUND)
    print(r.stdout, end="")
    expect(r.returncode == 0, f"{name} exited with {r.returncode}; stderr: {r.stderr!r}")
    got = r.stdout.splitlines()
    expect(got == want, f"{name}: unexpected output\n got: {got}\nwant: {want}")
    print(f"{name}: output as expected")


def config_reload(d):
    events = "settings v2 loaded, settings v3 loaded, settings v4 loaded, shutting down"
    run_exact(d, "config_reload", [
        *(f"reloader: v{v} published to 3 subscribers" for v in (2, 3, 4)),
        *(f"subscriber {i}: {events}" for i in range(3)),
        *(f"worker {i}: stopped with v4 (8 threads)" for i in range(2)),
        "idle receiver: has_changed true, sees v4",
        "lagged: missed 3, then 3 4",
    ])


def par_from_async(d):
    n = 1_000_000
    run_exact(d, "par_from_async", [
        f"par::run + par::join: sum of squares of 1..{n} = {n * (n + 1) * (2 * n + 1) // 6}",
        "timer: kept ticking on the async worker while the pool worked",
        "par::scope: last digits 0..9 counted " + " ".join([str(n // 10)] * 10),
    ])


if __name__ == "__main__":
    {"echo": echo, "http": http, "chat": chat, "metrics": metrics, "config_reload": config_reload,
     "par_from_async": par_from_async}[sys.argv[2]](sys.argv[1])
