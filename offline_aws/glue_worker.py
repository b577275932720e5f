"""A warm local Spark for offline Glue runs: one JVM kept across runs, each run in a fresh SparkSession.

The Glue runner starts `python -m offline_aws.glue_worker RESULT_FD` once and sends it one JSON request
per line on stdin: the script, its arguments, the run's directory and log files. The worker runs the script
as `__main__` with that argv, its file descriptors 1 and 2 pointing at the run's logs (the JVM's stay on
the worker's log), and answers `{"returncode": N}` on RESULT_FD. Each run gets `newSession()` of the one
SparkContext: its own SQL conf, temporary views, functions and cache, as a fresh Glue run has;
`SparkSession.stop()` in a script ends only its session. What the script leaves in Python modules it
imports stays, as in any warm interpreter. The JVM starts when a script first asks for Spark (getOrCreate
of a SparkSession builder or of SparkContext, or a SparkContext), so runs that never do cost no JVM.

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


class _Spark:
    """The worker's one SparkContext, started on first use, and the session of the run in progress."""

    def __init__(self) -> None:
        from pyspark.sql import SparkSession

        self._builder_get_or_create = SparkSession.Builder.getOrCreate  # pyspark's, not on_demand's
        self._worker_fds = os.dup(1), os.dup(2)  # the worker's log, for the JVM: it outlives each run's
        self._base: Any = None
        self._starting = False
        self.run_session: Any = None

    def session_for_run(self) -> Any:
        """The run's own session (created on the first call of a run), the JVM started if need be."""
        if self.run_session is None and not self._starting:
            from pyspark.sql import SparkSession

            if self._base is None:
                self._base = self._start_jvm()
            session = self._base.newSession()
            SparkSession._instantiatedSession = session
            SparkSession._activeSession = session
            jvm_session = session._jsparkSession
            session._jvm.SparkSession.setDefaultSession(jvm_session)
            session._jvm.SparkSession.setActiveSession(jvm_session)
            self.run_session = session
        return self.run_session

    def _start_jvm(self) -> Any:
        from pyspark.sql import SparkSession

        run_fds = os.dup(1), os.dup(2)
        self._starting = True
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            for worker_fd, fd in zip(self._worker_fds, (1, 2), strict=True):
                os.dup2(worker_fd, fd)
            return self._builder_get_or_create(SparkSession.builder.appName("offline-glue"))
        finally:
            self._starting = False
            for run_fd, fd in zip(run_fds, (1, 2), strict=True):
                os.dup2(run_fd, fd)
                os.close(run_fd)

    @contextmanager
    def on_demand(self) -> Iterator[None]:
        """For one run: whatever a script calls to get Spark gets the run's session; `stop()` ends nothing."""
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        originals = [
            (SparkSession.Builder, "getOrCreate", SparkSession.Builder.__dict__["getOrCreate"]),
            (SparkContext, "getOrCreate", SparkContext.__dict__["getOrCreate"]),
            (SparkContext, "__init__", SparkContext.__dict__["__init__"]),
            (SparkSession, "stop", SparkSession.__dict__["stop"]),
        ]
        context_get_or_create, context_init = SparkContext.getOrCreate.__func__, SparkContext.__init__

        def builder_get_or_create(builder: Any) -> Any:
            self.session_for_run()
            return self._builder_get_or_create(builder)

        def get_or_create_context(cls: Any, conf: Any = None) -> Any:
            self.session_for_run()
            return context_get_or_create(cls, conf)

        def init_context(context: Any, *args: Any, **kwargs: Any) -> None:
            self.session_for_run()  # so a script's own SparkContext() is refused, as on a running JVM
            context_init(context, *args, **kwargs)

        SparkSession.Builder.getOrCreate = builder_get_or_create  # type: ignore[method-assign]
        SparkContext.getOrCreate = classmethod(get_or_create_context)  # type: ignore[method-assign,assignment]
        SparkContext.__init__ = init_context  # type: ignore[method-assign]
        SparkSession.stop = lambda session: None  # type: ignore[method-assign]
        try:
            yield
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)
            session, self.run_session = self.run_session, None
            if session is not None:
                # Nothing a run cached or checkpointed outlives it (clearCache leaves persisted RDDs).
                session.catalog.clearCache()
                for rdd in list(session.sparkContext._jsc.getPersistentRDDs().values()):
                    rdd.unpersist(False)


def _run(spark: _Spark, request: dict[str, Any], fetcher: _Fetcher) -> int:
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
            with spark.on_demand(), _reads_fetched(fetcher):
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
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            for fd in saved_fds:
                os.close(fd)
    return returncode


def main(result_fd: int) -> None:
    spark = _Spark()
    with os.fdopen(result_fd, "w", buffering=1) as results:
        for line in sys.stdin:
            if line.strip():
                request = json.loads(line)
                fetcher = _Fetcher(request.get("lazy_roots", ()), results, sys.stdin)
                results.write(json.dumps({"returncode": _run(spark, request, fetcher)}) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]))
