"""pytest fixtures shared by every app's tests."""

import pytest


@pytest.fixture(autouse=True)
def _no_outgoing_network(monkeypatch):
    """Tests never reach the network (loopback is fine)."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
