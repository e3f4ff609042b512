"""Local servers' ports: the error a taken port raises, and a check that one is free."""

from __future__ import annotations

import errno
import socket

__all__ = ["PortInUseError", "port_free"]


class PortInUseError(RuntimeError):
    """A local server's port is already taken."""

    def __init__(self, what: str, host: str, port: int, flag: str) -> None:
        super().__init__(
            f"{what} cannot listen on {host}:{port}: the port is already in use "
            f"(stop whatever uses it, or pick another port with {flag} N)"
        )
        self.host = host
        self.port = port


def port_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port`` (as the servers bind: connections of a
    stopped server in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True
