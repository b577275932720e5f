"""A warm local Spark for offline Glue runs: one JVM kept across runs, each run in a fresh SparkSession.

The Glue runner starts `python -m offline_aws.glue_worker RESULT_FD` once and sends it one JSON request
per line on stdin: the script, its arguments, the run's directory and log files. The worker runs the script
as `__main__` with that argv, its file descriptors 1 and 2 (the JVM's too) pointing at the run's logs, and
answers `{"returncode": N}` on RESULT_FD. Each run gets `newSession()` of the one SparkContext: its own SQL
conf, temporary views, functions and cache, as a fresh Glue run has; `SparkSession.stop()` in a script ends
only its session. What the script leaves in Python modules it imports stays, as in any warm interpreter.

The request's `lazy_roots` are the local copies of `s3://` prefixes, laid out as placeholders (see
glue_runner.py). While the script runs, any path under them that it hands a Spark reader (DataFrameReader,
SparkContext's file readers) or opens for reading with Python's `open` is first asked for on RESULT_FD,
`{"fetch": [paths]}`, and the worker waits for the runner's answer on stdin before the read goes on.
"""

import builtins
import functools
import io
import json
import os
import runpy
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

# Methods that open the paths among their arguments (Spark 3.5); `option` only its "path" option (not
# "basePath": partition discovery under a base path reads nothing above the paths given).
_READERS = {
    "pyspark.sql.readwriter.DataFrameReader": ("load", "parquet", "json", "csv", "orc", "text", "option"),
    "pyspark.context.SparkContext": (
        "textFile",
        "wholeTextFiles",
        "binaryFiles",
        "binaryRecords",
        "pickleFile",
        "sequenceFile",
        "hadoopFile",
        "newAPIHadoopFile",
    ),
}


class _Fetcher:
    """Asks the runner for the objects behind the paths a script opens under the run's lazy roots."""

    def __init__(self, roots: Iterable[str], results: IO[str], answers: IO[str]) -> None:
        self.roots = [os.path.normpath(root) for root in roots]
        self.results = results
        self.answers = answers
        self._lock = threading.Lock()

    def under_roots(self, values: Iterable[Any]) -> list[str]:
        paths = []
        for value in values:
            if isinstance(value, list | tuple):
                paths += self.under_roots(value)
            elif isinstance(value, str | os.PathLike) and not isinstance(value, bytes):
                # Hadoop reads "a,b" as two paths; a file: URI is a local path.
                for part in os.fspath(value).split(","):
                    path = os.path.normpath(
                        os.path.abspath(part.removeprefix("file://").removeprefix("file:"))
                    )
                    if any(path == root or path.startswith(root + os.sep) for root in self.roots):
                        paths.append(path)
        return paths

    def fetch(self, values: Iterable[Any]) -> None:
        paths = self.under_roots(values)
        if not paths:
            return
        with self._lock:
            self.results.write(json.dumps({"fetch": paths}) + "\n")
            answer = json.loads(self.answers.readline() or '{"error": "the Glue runner went away"}')
        if "error" in answer:
            raise OSError(f"reading {', '.join(paths)} from S3 failed: {answer['error']}")


def _fetching_first(method: Callable[..., Any], fetcher: _Fetcher) -> Callable[..., Any]:
    @functools.wraps(method)
    def reader(*args: Any, **kwargs: Any) -> Any:
        if method.__name__ != "option":
            fetcher.fetch([*args[1:], *kwargs.values()])  # args[0] is the reader or context
        elif len(args) == 3 and str(args[1]).lower() == "path":
            fetcher.fetch([args[2]])
        return method(*args, **kwargs)

    return reader


@contextmanager
def _reads_fetched(fetcher: _Fetcher) -> Iterator[None]:
    """Spark's readers and Python's `open` fetch their paths first, for the duration of one run."""
    import importlib

    patched: list[tuple[Any, str, Any]] = []
    for qualified, names in _READERS.items():
        module_name, _, class_name = qualified.rpartition(".")
        owner = getattr(importlib.import_module(module_name), class_name)
        patched += [(owner, name, getattr(owner, name)) for name in names if hasattr(owner, name)]
    original_open = builtins.open

    def open_fetched(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "w" not in mode and "x" not in mode:  # reading, updating or appending needs the content
            fetcher.fetch([file])
        return original_open(file, mode, *args, **kwargs)

    try:
        for owner, name, method in patched:
            setattr(owner, name, _fetching_first(method, fetcher))
        builtins.open = io.open = open_fetched  # type: ignore[assignment]
        yield
    finally:
        builtins.open = io.open = original_open  # type: ignore[assignment]
        for owner, name, method in patched:
            setattr(owner, name, method)


def _fresh_session(base: Any) -> Any:
    from pyspark.sql import SparkSession

    session = base.newSession()
    SparkSession._instantiatedSession = session
    SparkSession._activeSession = session
    jvm_session = session._jsparkSession
    session._jvm.SparkSession.setDefaultSession(jvm_session)
    session._jvm.SparkSession.setActiveSession(jvm_session)
    return session


def _run(base: Any, request: dict[str, Any], fetcher: _Fetcher) -> int:
    from pyspark.sql import SparkSession

    session = _fresh_session(base)
    original_stop = SparkSession.stop
    SparkSession.stop = lambda self: None  # type: ignore[method-assign]
    saved_fds = os.dup(1), os.dup(2)
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    with open(request["stdout"], "ab") as out, open(request["stderr"], "ab") as err:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            os.chdir(request["cwd"])
            sys.argv = [request["script"], *request["argv"]]
            with _reads_fetched(fetcher):
                runpy.run_path(request["script"], run_name="__main__")
            returncode = 0
        except SystemExit as exit_:
            code = exit_.code
            returncode = code if isinstance(code, int) else (0 if code is None else 1)
            if not isinstance(code, int | None):
                print(code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            returncode = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.argv = saved_argv
            os.chdir(saved_cwd)
            SparkSession.stop = original_stop  # type: ignore[method-assign]
            # Nothing a run cached or checkpointed outlives it (clearCache leaves persisted RDDs).
            session.catalog.clearCache()
            for rdd in list(session.sparkContext._jsc.getPersistentRDDs().values()):
                rdd.unpersist(False)
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            for fd in saved_fds:
                os.close(fd)
    return returncode


def main(result_fd: int) -> None:
    from pyspark.sql import SparkSession

    base = SparkSession.builder.appName("offline-glue").getOrCreate()
    with os.fdopen(result_fd, "w", buffering=1) as results:
        for line in sys.stdin:
            if line.strip():
                request = json.loads(line)
                fetcher = _Fetcher(request.get("lazy_roots", ()), results, sys.stdin)
                results.write(json.dumps({"returncode": _run(base, request, fetcher)}) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]))
