"""A STARTTLS shim for scanners that do not speak a protocol's STARTTLS (testssl 3.0 has no
ManageSieve): listens on a local port; for each connection it connects to the server, reads
the greeting, sends STARTTLS, waits for OK, then passes bytes both ways untouched, so the
scanner's TLS handshake is with the server itself.

usage: starttls_shim.py LISTEN_PORT SERVER_ADDRESS SERVER_PORT  (runs until killed)"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading


def _sieve_starttls(server: socket.socket) -> None:
    """ManageSieve (RFC 5804): the capabilities end with OK; STARTTLS is answered OK."""
    buf = b""
    while not buf.startswith(b"OK") and b"\r\nOK" not in buf:
        chunk = server.recv(4096)
        if not chunk:
            raise ConnectionError("no greeting")
        buf += chunk
    server.sendall(b"STARTTLS\r\n")
    answer = server.recv(4096)
    if not answer.startswith(b"OK"):
        raise ConnectionError(answer.decode(errors="replace"))


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        server = socket.create_connection((TARGET[0], TARGET[1]), timeout=30)
        server.settimeout(None)
        try:
            _sieve_starttls(server)
        except (OSError, ConnectionError):
            server.close()
            return
        back = threading.Thread(target=_pump, args=(server, self.request), daemon=True)
        back.start()
        _pump(self.request, server)
        back.join()
        server.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    TARGET = (sys.argv[2], int(sys.argv[3]))
    with Server(("127.0.0.1", int(sys.argv[1])), Handler) as srv:
        srv.serve_forever()
