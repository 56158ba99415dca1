#!/usr/bin/env python3
"""Hostile clients against the example servers (suite 'hostile').

Usage: hostile.py <examples-build-dir> chat|http|echo [case ...]

Each case starts a server on a free loopback port (port 0; the server prints where it listens, so
parallel runs never collide), attacks it the way a public server gets attacked, and checks its
answers, its open descriptors (/proc/PID/fd) and its resident memory (/proc/PID/status VmRSS)
before and after. Counts and times are bounded. Waits are for events (an answer, end of stream,
the descriptor count returning) with generous bounds; where a server timeout must pass, the
server is started with a short one (1 s) and the test waits, bounded, for the close it causes."""

import os
import re
import resource
import select
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
import loopback  # noqa: E402 (after the path)
from loopback import BOUND, expect, listening_port, read_until  # noqa: E402


def sanitized(exe):
    """Whether `exe` was built with a sanitizer (ASan, UBSan or TSan). Under them, resident
    memory says nothing about leaks (quarantine, shadow memory), and running out of descriptors
    makes UBSan report false errors (it probes memory through a pipe), so those checks are
    skipped, as tests/stress does. The suite runs unsanitized in tools/test (gcc variant)."""
    with open(exe, "rb") as f:
        data = f.read()
    return any(m in data for m in (b"__asan_init", b"__ubsan_handle", b"__tsan_init"))


def log(msg):
    print(msg, flush=True)


class server:
    def __init__(self, exe, *args, nofile=None):
        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.p = subprocess.Popen([exe, "--port", "0", "--threads", "2", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, preexec_fn=limit)
        self.port = listening_port(self.p, exe)
        self.stderr = b""
        self.sanitized = sanitized(exe)

    def fds(self):
        return len(os.listdir(f"/proc/{self.p.pid}/fd"))

    def rss_mib(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def rss_bound(self, grew, limit, what):
        """Resident memory grew by `grew` MiB: must be under `limit` (not checked when sanitized)."""
        if not self.sanitized:
            expect(grew < limit, f"resident memory grew {grew:.1f} MiB {what}")

    def alive(self):
        return self.p.poll() is None

    def wait_fds(self, want, what):
        """Waits (bounded) until the server holds at most `want` descriptors."""
        end = time.monotonic() + BOUND
        while True:
            expect(self.alive(), f"{what}: the server died (status {self.p.returncode})")
            n = self.fds()
            if n <= want:
                return n
            if time.monotonic() > end:
                raise AssertionError(f"{what}: the server still holds {n} descriptors after {BOUND} s, want <= {want}")
            time.sleep(0.02)  # polling /proc: there is no event to wait on

    def stderr_until(self, token, bound=BOUND):
        """Reads the server's stderr until `token` (True) or end of stream (False), bounded."""
        end = time.monotonic() + bound
        fd = self.p.stderr.fileno()
        while token not in self.stderr:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {token!r} on the server's stderr within {bound} s: {self.stderr[-500:]!r}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return False
                self.stderr += chunk
        return True

    def stop(self):
        """Kills the server; fails if it reported a sanitizer error or a runtime error."""
        self.p.kill()
        self.p.wait()
        self.stderr += self.p.stderr.read()
        for bad in (b"Sanitizer", b"runtime error:", b"terminate called"):
            expect(bad not in self.stderr, f"the server reported {bad!r}: {self.stderr[-2000:]!r}")


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(BOUND)
    s.connect(("127.0.0.1", port))
    return s


def reset(s):
    """Closes with a TCP reset (SO_LINGER 0)."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def read_to_eof(s):
    """Everything the server sends until it closes; a reset (a server dropping an attacker) ends
    it too."""
    return loopback.read_to_eof(s, reset_is_eof=True)


def fill_until_blocked(s, chunk, cap):
    """Sends `chunk` repeatedly without blocking until the socket would block (or `cap` bytes)."""
    s.setblocking(False)
    sent = 0
    stalls = 0
    while sent < cap:
        try:
            sent += s.send(chunk)
            stalls = 0
        except BlockingIOError:
            # full: wait (bounded) to see whether the server drains it; if not, it is blocked
            _, w, _ = select.select([], [s], [], 0.5)
            if not w:
                stalls += 1
                if stalls >= 2:
                    break
        except (BrokenPipeError, ConnectionResetError):
            break
    s.settimeout(BOUND)
    return sent


# ---------------------------------------------------------------------------------------------
# chat_server


def chat_reset_before_welcome(d):
    """400 clients reset before their welcome is written; the room must forget them: lines said
    afterwards must not be queued for them (before the fix: ~100 MB kept, never freed)."""
    srv = server(os.path.join(d, "chat_server"))
    try:
        w = connect(srv.port)
        read_until(w, b"welcome")
        fds0, rss0 = srv.fds(), srv.rss_mib()
        for _ in range(400):
            c = socket.socket()
            c.connect(("127.0.0.1", srv.port))
            reset(c)
        s = connect(srv.port)
        m = re.search(rb"you are client (\d+)", read_until(s, b"\n"))
        sid = m.group(1)
        srv.wait_fds(fds0 + 1, "after 400 resets")
        line = b"x" * 1000 + b"\n"
        for _ in range(250):
            s.sendall(line)
        count = [0]

        def seen(lines):
            count[0] += sum(1 for l in lines.split(b"\n") if l.startswith(sid + b": x"))
            return count[0] >= 250

        count_lines_until(w, seen, "250 lines relayed to the one real member")
        # every line has reached the one real member; what is queued elsewhere is the leak
        rss1 = srv.rss_mib()
        srv.rss_bound(rss1 - rss0, 30, "after 250 lines with 400 reset clients")
        s.close()
        w.close()
        srv.wait_fds(fds0 - 1, "after the last clients left")
        log(f"chat reset-before-welcome: RSS {rss0:.1f} -> {rss1:.1f} MiB, fds {fds0} -> {srv.fds()}: ok")
    finally:
        srv.stop()


def count_lines_until(sock, pred, what):
    """Reads lines from `sock` until pred(line) has held for every item wanted; bounded."""
    end = time.monotonic() + BOUND
    buf = b""
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{what}: not within {BOUND} s")
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            raise AssertionError(f"{what}: not within {BOUND} s")
        if not chunk:
            raise AssertionError(f"{what}: connection closed")
        buf += chunk
        cut = buf.rfind(b"\n") + 1
        if pred(buf[:cut]):
            return
        buf = buf[cut:]


def chat_slow_reader(d):
    """A client that never reads is dropped once its outbox is full, the others are told, and the
    server's memory stays bounded (before the fix: everything was buffered for it). The sender
    waits for the reading client to have every line before it sends more, so only the client
    that does not read can fall behind."""
    srv = server(os.path.join(d, "chat_server"), "--max-outbox", "524288")
    try:
        fds0, rss0 = srv.fds(), srv.rss_mib()
        slow = connect(srv.port, rcvbuf=4096)
        slow_id = re.search(rb"you are client (\d+)", read_until(slow, b"\n")).group(1)
        c = connect(srv.port)
        read_until(c, b"welcome")
        b = connect(srv.port)
        b_id = re.search(rb"you are client (\d+)", read_until(b, b"\n")).group(1)
        line = b"y" * 4000 + b"\n"
        drop_line = b"* client " + slow_id + b" dropped: too slow"
        state = {"got": 0, "dropped": False}

        def seen(lines):
            state["got"] += sum(1 for l in lines.split(b"\n") if l.startswith(b_id + b": y"))
            state["dropped"] = state["dropped"] or drop_line in lines
            return state["got"] >= sent

        sent = 0
        while not state["dropped"]:
            expect(sent < 8000, f"32 MB sent and client {slow_id.decode()}, which never reads, not dropped")
            b.sendall(line * 64)
            sent += 64
            count_lines_until(c, seen, f"{sent} lines relayed to a reading client")
        rss1 = srv.rss_mib()
        srv.rss_bound(rss1 - rss0, 40, "with one client that never reads")
        srv.wait_fds(fds0 + 2, "after the slow client was dropped")
        b.close()
        c.close()
        slow.close()
        srv.wait_fds(fds0, "after every client left")
        log(f"chat slow reader: dropped after {sent * 4} KB and announced; RSS {rss0:.1f} -> {rss1:.1f} MiB, "
            f"fds back to {fds0}: ok")
    finally:
        srv.stop()


def chat_long_line(d):
    """A line longer than --max-line gets an error line, then the connection closes; the others
    are told (before the fix: one buffer grew without limit)."""
    srv = server(os.path.join(d, "chat_server"), "--max-line", "1024")
    try:
        fds0 = srv.fds()
        w = connect(srv.port)
        read_until(w, b"welcome")
        c = connect(srv.port)
        c_id = re.search(rb"you are client (\d+)", read_until(c, b"\n")).group(1)
        read_until(w, b"joined")
        c.sendall(b"short line\n")
        read_until(w, b"short line\n")
        c.sendall(b"z" * 65536)  # no newline
        got = read_to_eof(c)
        expect(b"error: line longer than 1024 bytes" in got, f"no error line for a long line: {got[-200:]!r}")
        read_until(w, b"* client " + c_id + b" dropped: line too long")
        c.close()
        # a complete line over the limit, in one piece, is refused the same way
        c = connect(srv.port)
        read_until(c, b"welcome")
        c.sendall(b"q" * 2000 + b"\n")
        got = read_to_eof(c)
        expect(b"error: line longer than 1024 bytes" in got, f"no error line for a long complete line: {got[-200:]!r}")
        c.close()
        w.close()
        srv.wait_fds(fds0, "after the long-line clients")
        log("chat long line: error line, disconnected, others told, descriptors back: ok")
    finally:
        srv.stop()


def emfile(d, exe, hello, *args):
    """Out of descriptors (RLIMIT_NOFILE 32, 48 clients): the accept loop backs off and the
    server recovers once clients leave (before the fix the chat server terminated)."""
    if sanitized(os.path.join(d, exe)):
        log(f"{exe} EMFILE: skipped under a sanitizer (it needs descriptors of its own)")
        return
    srv = server(os.path.join(d, exe), *args, nofile=32)
    try:
        clients = []
        for _ in range(48):
            clients.append(connect(srv.port))
        expect(srv.stderr_until(b"accept:"), f"{exe}: died out of descriptors: {srv.stderr[-300:]!r}")
        expect(srv.alive(), f"{exe}: died out of descriptors")
        for c in clients:
            c.close()
        c = connect(srv.port)
        hello(c)
        c.close()
        expect(srv.alive(), f"{exe}: died")
        log(f"{exe} EMFILE: reported, backed off, recovered: ok")
    finally:
        srv.stop()


def chat_emfile(d):
    emfile(d, "chat_server", lambda c: read_until(c, b"welcome"))


# ---------------------------------------------------------------------------------------------
# http_hello

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def http_slowloris(d):
    """200 clients each sending one byte every 100 ms: the whole-request deadline (--request-ms
    1000) closes all of them with 408, however often they send (before: held forever)."""
    srv = server(os.path.join(d, "http_hello"), "--request-ms", "1000", "--idle-ms", "5000")
    try:
        fds0, rss0 = srv.fds(), srv.rss_mib()
        conns = {}
        for _ in range(200):
            s = connect(srv.port)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Drip: ")
            s.setblocking(False)
            conns[s.fileno()] = [s, b""]
        start = time.monotonic()
        answers = {}
        while conns:
            expect(time.monotonic() - start < BOUND, f"{len(conns)} of 200 dripping clients still held after {BOUND} s")
            for fd, (s, _) in list(conns.items()):
                try:
                    s.send(b"a")
                except OSError:
                    pass
            deadline = time.monotonic() + 0.1
            while (left := deadline - time.monotonic()) > 0 and conns:
                r, _, _ = select.select(list(conns), [], [], left)
                for fd in r:
                    s, got = conns[fd]
                    try:
                        chunk = s.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except ConnectionResetError:
                        chunk = b""
                    if chunk:
                        conns[fd][1] += chunk
                    else:
                        answers[fd] = conns.pop(fd)[1]
                        s.close()
        took = time.monotonic() - start
        n408 = sum(1 for a in answers.values() if a.startswith(b"HTTP/1.1 408 "))
        expect(n408 >= 190, f"only {n408} of 200 dripping clients got 408")
        expect(took < 8, f"dripping clients closed only after {took:.1f} s with --request-ms 1000")
        srv.wait_fds(fds0, "after the dripping clients")
        log(f"http slowloris: 200 dripping clients closed after {took:.1f} s ({n408} with 408), "
            f"RSS {rss0:.1f} -> {srv.rss_mib():.1f} MiB, fds back to {fds0}: ok")
    finally:
        srv.stop()


def http_pipeline_no_read(d):
    """A client that pipelines requests and never reads its answers is dropped after --write-ms
    (before: its connection was held forever)."""
    srv = server(os.path.join(d, "http_hello"), "--write-ms", "1000", "--idle-ms", "60000", "--request-ms", "60000")
    try:
        fds0, rss0 = srv.fds(), srv.rss_mib()
        s = connect(srv.port, rcvbuf=4096)
        sent = fill_until_blocked(s, GET * 512, 64 << 20)
        srv.wait_fds(fds0, "a pipelining client that never reads")
        rss1 = srv.rss_mib()
        srv.rss_bound(rss1 - rss0, 32, "with a pipelining client that never reads")
        s.close()
        log(f"http pipelining without reading: {sent >> 10} KiB of requests, dropped, RSS {rss0:.1f} -> {rss1:.1f} MiB: ok")
    finally:
        srv.stop()


def exchange(port, data):
    s = connect(port)
    s.sendall(data)
    got = read_to_eof(s)
    s.close()
    return got


def http_parsing(d):
    """RFC 9112 strictness where a proxy and the server could disagree (request smuggling)."""
    srv = server(os.path.join(d, "http_hello"), "--idle-ms", "5000")
    try:
        fds0 = srv.fds()
        bad = {
            "two different Content-Length values":
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            "whitespace before the colon (Content-Length)": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
            "whitespace before the colon (Transfer-Encoding)":
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
            "invalid method token": b"helloGET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "method with a control byte": b"GE\x01T / HTTP/1.1\r\nHost: x\r\n\r\n",
            "NUL in a header value": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
            "control byte in a header value": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x1bb\r\n\r\n",
            "bare CR in a header": b"GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n",
            "folded header": b"GET / HTTP/1.1\r\nHost: x\r\n  folded\r\n\r\n",
            "Content-Length and Transfer-Encoding":
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "Content-Length not a number": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
            "two spaces in the request-line": b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        }
        for what, req in bad.items():
            got = exchange(srv.port, req)
            expect(got.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in got, f"{what}: got {got[:120]!r}")
            expect(got.count(b"HTTP/1.1 ") == 1, f"{what}: more than one answer {got!r}")
        # a bare-LF request is answered at once (here 400), not left waiting for the idle timeout
        t0 = time.monotonic()
        got = exchange(srv.port, b"GET / HTTP/1.1\nHost: x\n\n")
        expect(got.startswith(b"HTTP/1.1 400 ") or got.startswith(b"HTTP/1.1 200 "), f"bare LF: got {got!r}")
        expect(time.monotonic() - t0 < 4, "bare LF: answered only at the idle timeout")
        # HEAD: the headers (with the GET's Content-Length) and no body
        got = exchange(srv.port, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        first, sep, rest = got.partition(b"\r\n\r\n")
        expect(sep and first.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: 13" in first, f"HEAD: got {got!r}")
        expect(rest.startswith(b"HTTP/1.1 200 OK") and rest.endswith(b"\r\n\r\nHello, World!"),
               f"HEAD answered with a body: {got!r}")
        # still served: equal duplicate Content-Lengths, a chunked body is 501, an HTTP/2 line 505
        got = exchange(srv.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n"
                       b"Connection: close\r\n\r\nhi")
        expect(got.startswith(b"HTTP/1.1 200 OK") and got.endswith(b"Hello, World!"), f"equal lengths: {got!r}")
        got = exchange(srv.port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        expect(got.startswith(b"HTTP/1.1 501 "), f"chunked: {got!r}")
        got = exchange(srv.port, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")
        expect(got.startswith(b"HTTP/1.1 505 "), f"HTTP/2.0: {got!r}")
        got = exchange(srv.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
        expect(got.startswith(b"HTTP/1.1 413 "), f"huge body: {got!r}")
        srv.wait_fds(fds0, "after the malformed requests")
        log(f"http parsing: {len(bad)} malformed heads 400, bare LF answered, HEAD without body, 501/505/413: ok")
    finally:
        srv.stop()


def http_emfile(d):
    def hello(c):
        c.sendall(GET)
        read_until(c, b"Hello, World!")
    emfile(d, "http_hello", hello)


# ---------------------------------------------------------------------------------------------
# echo_server


def echo_idle(d):
    """--idle-ms closes a silent connection, and one whose echo cannot be written because the
    client never reads (before: the flag did not exist and both were held forever)."""
    srv = server(os.path.join(d, "echo_server"), "--idle-ms", "1000")
    try:
        fds0 = srv.fds()
        s = connect(srv.port)
        s.sendall(b"hi")
        read_until(s, b"hi")
        t0 = time.monotonic()
        expect(read_to_eof(s) == b"", "an idle connection got data")
        took = time.monotonic() - t0
        expect(took < 8, f"idle connection closed after {took:.1f} s with --idle-ms 1000")
        s.close()
        srv.wait_fds(fds0, "after the idle client")
        s = connect(srv.port, rcvbuf=4096)
        sent = fill_until_blocked(s, b"e" * 65536, 64 << 20)
        srv.wait_fds(fds0, "a client that sends and never reads")
        s.close()
        log(f"echo idle: silent client closed after {took:.1f} s; non-reader ({sent >> 10} KiB sent) dropped: ok")
    finally:
        srv.stop()


def usage(d, exe, flags):
    """--help lists every limit's flag (exit 0); a misspelt flag is refused by name (exit 2)."""
    r = subprocess.run([os.path.join(d, exe), "--help"], capture_output=True, text=True, timeout=BOUND)
    expect(r.returncode == 0, f"{exe} --help: exit status {r.returncode}")
    for f in flags:
        expect(f"--{f}" in r.stdout, f"{exe} --help does not list --{f}: {r.stdout!r}")
    r = subprocess.run([os.path.join(d, exe), "--idle", "5"], capture_output=True, text=True, timeout=BOUND)
    expect(r.returncode == 2 and "unknown option --idle" in r.stderr, f"{exe} --idle 5: {r.returncode} {r.stderr!r}")
    log(f"{exe}: --help lists {', '.join(flags)}; an unknown option is refused: ok")


def chat_usage(d):
    usage(d, "chat_server", ["max-line", "max-outbox", "write-ms"])


def http_usage(d):
    usage(d, "http_hello", ["idle-ms", "request-ms", "write-ms", "max-head", "max-body"])


def echo_usage(d):
    usage(d, "echo_server", ["idle-ms"])


CASES = {
    "chat": [chat_usage, chat_reset_before_welcome, chat_slow_reader, chat_long_line, chat_emfile],
    "http": [http_usage, http_slowloris, http_pipeline_no_read, http_parsing, http_emfile],
    "echo": [echo_usage, echo_idle],
}

if __name__ == "__main__":
    build_dir, group, *only = sys.argv[1:]
    for case in CASES[group]:
        if only and case.__name__ not in only:
            continue
        t0 = time.monotonic()
        case(build_dir)
        log(f"  ({case.__name__}: {time.monotonic() - t0:.1f} s)")
