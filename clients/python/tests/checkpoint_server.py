"""Shared pieces of the checkpoint integration tests: a fixture that starts a real store-server
(``server_process.ServerProcess``, needs STORE_SERVER_BIN) and a skip marker for when the binary
is not given, as in test_client.py."""
from __future__ import annotations

import pytest

from server_process import SERVER_BIN, ServerProcess

requires_server = pytest.mark.skipif(
    not SERVER_BIN,
    reason="set STORE_SERVER_BIN to a store-server binary (e.g. .build/debug/store-server) "
           "to run the checkpoint integration tests")


@pytest.fixture
def checkpoint_server(tmp_path):
    process = ServerProcess(tmp_path / "server.log")
    process.start()
    yield process
    process.stop()
