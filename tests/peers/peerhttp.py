"""What the test doubles' HTTP servers share: a threading HTTP server on
127.0.0.1 that keeps track of its open connections, so a fault mode or a
stop can cut them (nsqd.py, registry.py)."""
import socket
import socketserver
import threading
from http.server import ThreadingHTTPServer


def shutdown_quietly(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class TrackingHTTPServer(ThreadingHTTPServer):
    """`double.verbose` decides whether handler errors are printed."""

    daemon_threads = False          # joined by server_close()
    block_on_close = True
    request_queue_size = 128

    def __init__(self, addr, handler, double, bind_and_activate=True):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.double = double
        self._conns = set()
        self._conns_lock = threading.Lock()
        self._closing = False
        super().__init__(addr, handler, bind_and_activate=bind_and_activate)

    def handle_error(self, request, client_address):
        if self.double.verbose:
            super().handle_error(request, client_address)

    def server_bind(self):
        # HTTPServer.server_bind would do a reverse DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]

    def track(self, sock):
        with self._conns_lock:
            if self._closing:
                shutdown_quietly(sock)
            self._conns.add(sock)

    def untrack(self, sock):
        with self._conns_lock:
            self._conns.discard(sock)

    def close_all(self, final=True, keep=None):
        """Shut every tracked connection but `keep`; `final`: and every
        one tracked from now on."""
        with self._conns_lock:
            if final:
                self._closing = True
            socks = [s for s in self._conns if s is not keep]
        for s in socks:
            shutdown_quietly(s)
