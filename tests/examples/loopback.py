"""What the tests that drive the example servers on loopback share: tests/examples/smoke.py,
tests/examples/tls_smoke.py and tests/hostile/hostile.py. A server is started on port 0 and
prints the address it listens on as its first line; every wait here is bounded by BOUND."""

import contextlib
import re
import subprocess

BOUND = 20.0  # seconds; generous, only reached when something is broken


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def listening_port(p, exe):
    """The port in the first line server `p` printed ("... listening on 127.0.0.1:PORT"); if the
    line says something else, kills `p` and fails."""
    line = p.stdout.readline()
    if isinstance(line, bytes):
        line = line.decode(errors="replace")
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        p.kill()
        raise AssertionError(f"{exe}: no 'listening on' line, got {line!r}")
    return int(m.group(1))


@contextlib.contextmanager
def serving(exe, *args):
    """Runs `exe --port 0 --threads 2 ARGS` for the `with` block, giving (process, port); kills
    it at the end of the block."""
    p = subprocess.Popen([exe, "--port", "0", "--threads", "2", *args], stdout=subprocess.PIPE, text=True)
    try:
        yield p, listening_port(p, exe)
    finally:
        p.kill()
        p.wait()


def read_until(s, token, data=b""):
    """Receives on socket `s` until `token` has arrived; returns everything received (after
    `data`, what came before). Fails if the peer closes first."""
    while token not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before {token!r}; got {data[-300:]!r}")
        data += chunk
    return data


def read_to_eof(s, reset_is_eof=False):
    """Receives on socket `s` until the peer closes; returns everything received. With
    `reset_is_eof`, a reset ends the stream too (else it raises ConnectionResetError)."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            if not reset_is_eof:
                raise
            return data
        if not chunk:
            return data
        data += chunk
