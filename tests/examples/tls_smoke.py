#!/usr/bin/env python3
"""Smoke and interop tests of the TLS examples, on loopback, with a certificate made here by the
openssl command (P-256, CN=localhost, self-signed: the clients trust it as their CA).

  tls_echo      tls_echo_server + tls_echo_client (verifying), then `openssl s_client` against
                tls_echo_server with TLS 1.2 and TLS 1.3 (verifying the host name)
  https         `curl --cacert` against https_hello with TLS 1.2 and TLS 1.3; a plaintext
                HTTP request to it gets no answer and leaves the server serving

Usage: tls_smoke.py <examples-build-dir> tls_echo|https
Exits 77 (skipped) when the openssl (or, for https, curl) command is missing."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile

from loopback import BOUND, expect, read_to_eof, serving


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "2"],
                   check=True, capture_output=True, timeout=BOUND)
    return cert, key


def s_client(port, cert, version):
    """One line through `openssl s_client`, verifying the server for localhost."""
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                          "-CAfile", cert, "-verify_hostname", "localhost", "-verify_return_error", "-quiet",
                          f"-{version}"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        msg = f"hello over {version}\n".encode()
        p.stdin.write(msg)
        p.stdin.flush()
        got = b""
        os.set_blocking(p.stdout.fileno(), True)
        while len(got) < len(msg):
            chunk = p.stdout.read1(len(msg) - len(got))
            if not chunk:
                break
            got += chunk
        expect(got == msg, f"s_client {version}: echo {got!r}, stderr {p.stderr.read1(4096)!r}")
        print(f"openssl s_client -{version}: echoed")
    finally:
        p.kill()
        p.wait(timeout=BOUND)


def tls_echo(d, tmp):
    cert, key = make_cert(tmp)
    with serving(os.path.join(d, "tls_echo_server"), "--cert", cert, "--key", key) as (server, port):
        r = subprocess.run([os.path.join(d, "tls_echo_client"), "--port", str(port), "--ca", cert,
                            "--conns", "20", "--msgs", "50"], capture_output=True, text=True, timeout=120)
        print(r.stdout, end="")
        expect(r.returncode == 0, f"tls_echo_client failed: {r.stderr}")
        expect("1000 messages echoed" in r.stdout, f"unexpected output {r.stdout!r}")
        # Verification works: the wrong host name is refused.
        r = subprocess.run([os.path.join(d, "tls_echo_client"), "--port", str(port), "--ca", cert, "--host",
                            "example.com", "--conns", "1", "--msgs", "1"], capture_output=True, text=True, timeout=60)
        expect(r.returncode != 0 and "hostname mismatch" in r.stderr, f"wrong host accepted: {r.stderr!r}")
        for version in ("tls1_2", "tls1_3"):
            s_client(port, cert, version)
        expect(server.poll() is None, "tls_echo_server died")


def https(d, tmp):
    if not shutil.which("curl"):
        skip("curl not found")
    cert, key = make_cert(tmp)
    with serving(os.path.join(d, "https_hello"), "--cert", cert, "--key", key) as (_, port):
        for flags in (["--tlsv1.2", "--tls-max", "1.2"], ["--tlsv1.3"]):
            r = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", cert, *flags,
                                f"https://localhost:{port}/", f"https://localhost:{port}/again"],
                               capture_output=True, text=True, timeout=60)
            expect(r.returncode == 0 and r.stdout == "Hello, World!" * 2,
                   f"curl {flags}: rc {r.returncode}, out {r.stdout!r}, err {r.stderr!r}")
            print(f"curl {' '.join(flags)}: {r.stdout!r}")
        # Plain HTTP to the TLS port: the handshake fails, the connection closes, the server lives.
        s = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_to_eof(s)
        expect(b"Hello" not in data, f"plaintext answered: {data!r}")
        r = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", cert, f"https://localhost:{port}/"],
                           capture_output=True, text=True, timeout=60)
        expect(r.stdout == "Hello, World!", "https_hello stopped serving after a plaintext client")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    if not shutil.which("openssl"):
        skip("openssl command not found")
    d, what = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        {"tls_echo": tls_echo, "https": https}[what](d, tmp)
    print(f"tls smoke {what}: ok")


if __name__ == "__main__":
    main()
