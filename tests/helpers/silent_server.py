"""A TCP server that accepts connections, reads what it is sent and never answers: a hung
broker (a Redis that froze, a half-open firewall) for the processes that connect to it."""

import socket
import threading


class SilentServer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """A Redis URL (database 3) that points here."""
        return f"redis://127.0.0.1:{self.port}/3"

    def start(self) -> "SilentServer":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for connection in self._open:
                connection.close()
            self._open.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            with self._lock:
                self.connections += 1
                self._open.append(client)
            threading.Thread(target=self._swallow, args=(client,), daemon=True).start()

    @staticmethod
    def _swallow(client: socket.socket) -> None:
        # Read so the client's writes never block on a full buffer; answer nothing.
        try:
            while client.recv(65536):
                pass
        except OSError:
            pass
