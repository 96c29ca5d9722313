"""Runs LangGraph's own store tests (``tests/test_store.py`` of the ``langgraph-checkpoint``
sdist, written for its ``InMemoryStore``) against ``AgentStoreStore`` on a real store-server.

The sdist of exactly the installed ``langgraph-checkpoint`` version is downloaded with pip at
test time (never copied into this repository), the test file and the local helpers it imports
are extracted next to our ``conftest.py``, and pytest runs there. That conftest puts our store in
place of the in-memory one. Needs STORE_SERVER_BIN and TEST_DATABASE_URL (scripts/with-backends.sh).

Usage: python run.py [pytest arguments...]; exits with pytest's status.
"""
from __future__ import annotations

import importlib.metadata
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
TESTS_DIR = HERE.parent  # clients/python/tests: server_process.py lives here
REPO = HERE.parents[3]
WORK = REPO / ".build" / "langgraph-store-suite"
#: Files the suite needs from the sdist's tests/ folder: the tests, the character-frequency
#: embedding fake they import, and the package marker that makes ``tests.`` imports work.
SUITE_FILES = ("__init__.py", "embed_test_utils.py", "test_store.py")


def fetch_sdist(version: str) -> pathlib.Path:
    download = WORK / "sdist"
    download.mkdir(parents=True, exist_ok=True)
    archives = list(download.glob(f"langgraph_checkpoint-{version}.tar.gz"))
    if not archives:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", "--disable-pip-version-check",
                        f"langgraph-checkpoint=={version}", "-d", str(download)], check=True)
        archives = list(download.glob(f"langgraph_checkpoint-{version}.tar.gz"))
    if not archives:
        raise SystemExit(f"pip did not produce langgraph_checkpoint-{version}.tar.gz")
    return archives[0]


def extract_suite(archive: pathlib.Path, version: str) -> pathlib.Path:
    suite = WORK / f"suite-{version}"
    if suite.exists():
        shutil.rmtree(suite)
    (suite / "tests").mkdir(parents=True)
    prefix = f"langgraph_checkpoint-{version}/tests/"
    with tarfile.open(archive) as tar:
        for name in SUITE_FILES:
            member = tar.getmember(prefix + name)
            source = tar.extractfile(member)
            assert source is not None, member
            (suite / "tests" / name).write_bytes(source.read())
    # Named suite_conftest.py here so that a plain pytest run of clients/python/tests does not
    # load it (it replaces InMemoryStore on import); in the suite folder it is the conftest.
    shutil.copy(HERE / "suite_conftest.py", suite / "conftest.py")
    # An ini of our own so the sdist's settings (or this repository's) do not leak in.
    (suite / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n"
                                      "asyncio_default_fixture_loop_scope = function\n")
    return suite


def main() -> int:
    version = importlib.metadata.version("langgraph-checkpoint")
    for variable in ("STORE_SERVER_BIN", "TEST_DATABASE_URL"):
        if not os.environ.get(variable):
            print(f"langgraph store suite: {variable} is not set (run through "
                  "scripts/with-backends.sh with STORE_SERVER_BIN)", file=sys.stderr)
            return 2
    suite = extract_suite(fetch_sdist(version), version)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR),
                                                      env.get("PYTHONPATH")]))
    env["LANGGRAPH_STORE_SUITE_LOGS"] = str(WORK)
    print(f"langgraph store suite: langgraph-checkpoint {version} tests/test_store.py "
          f"against AgentStoreStore", flush=True)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "--rootdir", str(suite), "-c", str(suite / "pytest.ini"),
                           str(suite / "tests" / "test_store.py"), *sys.argv[1:]],
                          cwd=suite, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
