"""Starts and controls a real store-server process for integration tests (env STORE_SERVER_BIN).
The server uses the test command's PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL)."""
from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import time

SERVER_BIN = os.environ.get("STORE_SERVER_BIN")

#: Seconds a freshly started server gets to accept connections (a debug build on a loaded
#: 2-core machine can be slow to start).
STARTUP_TIMEOUT_S = 20.0
TOKEN_NAME, TOKEN = "agent-fleet", "s3cret-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """One store-server process; restartable on the same port."""

    def __init__(self, log_path, tokens: dict[str, str] | None = None, extra_arguments=()) -> None:
        self.port = free_port()
        self.extra_arguments = list(extra_arguments)
        self.tokens = tokens
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env.pop("STORE_AUTH_TOKENS", None)
        # The test command's PostgreSQL and Redis (scripts/with-backends.sh); without them the
        # server would start managed ones in its data directory, which is slow per test.
        if os.environ.get("TEST_DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
        if os.environ.get("TEST_REDIS_URL"):
            env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
        if self.tokens:
            env["STORE_AUTH_TOKENS"] = ",".join(f"{n}:{t}" for n, t in self.tokens.items())
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [SERVER_BIN, "--host", "127.0.0.1", "--port", str(self.port),
             "--data-dir", str(pathlib.Path(self.log_path).parent / "var"), *self.extra_arguments],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"store-server exited with {self.process.returncode}:\n"
                                     + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"store-server did not listen on {self.port}:\n" + self.log())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # in case a test left it stopped
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)
        # SIGSTOP is delivered asynchronously; on a loaded machine the server could still answer
        # a request sent right after kill(). Wait until the kernel reports it stopped.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "T":
                    return
            time.sleep(0.005)
        raise AssertionError("server did not stop")

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def log(self) -> str:
        try:
            return open(self.log_path, encoding="utf-8", errors="replace").read()[-4000:]
        except OSError:
            return "(no log)"


