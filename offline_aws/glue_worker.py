"""A warm local Spark for offline Glue runs: one JVM kept across runs, each run in a fresh SparkSession.

The Glue runner starts `python -m offline_aws.glue_worker RESULT_FD` once and sends it one JSON request
per line on stdin: the script, its arguments, the run's directory and log files. The worker runs the script
as `__main__` with that argv, its file descriptors 1 and 2 (the JVM's too) pointing at the run's logs, and
answers `{"returncode": N}` on RESULT_FD. Each run gets `newSession()` of the one SparkContext: its own SQL
conf, temporary views, functions and cache, as a fresh Glue run has; `SparkSession.stop()` in a script ends
only its session. What the script leaves in Python modules it imports stays, as in any warm interpreter.
"""

import json
import os
import runpy
import sys
import traceback
from typing import Any


def _fresh_session(base: Any) -> Any:
    from pyspark.sql import SparkSession

    session = base.newSession()
    SparkSession._instantiatedSession = session
    SparkSession._activeSession = session
    jvm_session = session._jsparkSession
    session._jvm.SparkSession.setDefaultSession(jvm_session)
    session._jvm.SparkSession.setActiveSession(jvm_session)
    return session


def _run(base: Any, request: dict[str, Any]) -> int:
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
                results.write(json.dumps({"returncode": _run(base, json.loads(line))}) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]))
