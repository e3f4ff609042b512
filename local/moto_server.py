"""moto in server mode on a loopback port, with the fake credentials boto3 needs for it."""

from __future__ import annotations

import argparse
import errno
import signal
import socket
import sys
import threading
from contextlib import ExitStack
from typing import TYPE_CHECKING

from local.moto_patches import make_dynamodb_linearizable
from local.ports import PortInUseError
from local.runtime import serve_in_thread, stop_serving

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

__all__ = ["DEFAULT_AWS_PORT", "LOCAL_CREDENTIALS", "MotoServer"]

#: The moto server port ``agw dev`` uses unless told otherwise (``--aws-port``);
#: ``agw local invoke`` targets it by default.
DEFAULT_AWS_PORT = 5050
#: moto accepts any credentials; these keep boto3 from looking for real ones.
LOCAL_CREDENTIALS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
_STOP_TIMEOUT_S = 10.0


class MotoServer:
    """moto's WSGI app on a loopback port, served from a daemon thread.

    Like ``moto.server.ThreadedMotoServer``, but the socket is bound in
    :meth:`start` itself, so a taken port raises :class:`PortInUseError`
    instead of leaving the caller waiting for a server thread that died.
    ``in_process=False`` serves it from a child process instead (``python -m
    local.moto_server``): moto's CPU then does not compete with the caller's threads
    for one interpreter, as AWS's does not (decision 13.254).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        verbose: bool = False,
        in_process: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.verbose = verbose
        self.in_process = in_process
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._child: ExitStack | None = None
        self._child_url: str | None = None

    @property
    def url(self) -> str:
        if self._child_url is not None:
            return self._child_url
        if self._server is None:
            raise RuntimeError("the moto server is not running")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def _start_child(self) -> str:
        from local.ready_child import ready_child

        if self._child_url is not None:
            return self._child_url
        argv = [sys.executable, "-m", "local.moto_server", "--host", self.host]
        child = ExitStack()
        self._child_url = child.enter_context(
            ready_child([*argv, "--port", str(self.port)], what="moto (local AWS)")
        )
        self._child = child
        return self._child_url

    def start(self) -> str:
        if not self.in_process:
            return self._start_child()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        if self._server is not None:
            return self.url
        make_dynamodb_linearizable()

        class QuietHandler(MotoRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                if verbose:
                    super().log_request(code, size)

        verbose = self.verbose
        # Bind here (werkzeug would print and sys.exit on a taken port), then
        # hand the listening socket to werkzeug.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # As http.server and werkzeug do: a restart must not fail on the previous
        # server's connections lingering in TIME_WAIT (only a live listener conflicts).
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
            listener.listen(128)
        except OSError as exc:
            listener.close()
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    "moto (local AWS)", self.host, self.port, "--aws-port"
                ) from None
            raise
        try:
            server = make_server(
                self.host,
                self.port,
                DomainDispatcherApplication(create_backend_app),
                threaded=True,
                request_handler=QuietHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug holds its own duplicate of the socket
        self._server = server
        self._thread = serve_in_thread(server, "moto-server")
        return self.url

    def stop(self) -> None:
        child, self._child, self._child_url = self._child, None, None
        if child is not None:
            child.close()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        stop_serving(server, thread, timeout_s=_STOP_TIMEOUT_S)


def main(argv: list[str] | None = None) -> int:
    """``python -m local.moto_server``: serve until SIGTERM or SIGINT; prints ``READY <url>``."""
    parser = argparse.ArgumentParser(prog="python -m local.moto_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    server = MotoServer(args.host, args.port)
    print(f"READY {server.start()}", flush=True)
    try:
        stopped.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
