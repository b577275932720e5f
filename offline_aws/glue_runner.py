"""Runs a Glue job run for real: the job's script on local Spark, its S3 paths mirrored to local disk.

The emulation's Glue hook hands every StartJobRun here (on a worker thread). The script is downloaded
from its `ScriptLocation` in the emulated S3 and run, its arguments as `--name value` pairs like Glue
passes them, by one warm local Spark (glue_worker.py: one JVM for the emulation's life, a fresh
SparkSession per run), so only the first run pays Spark's start.

Every `s3://bucket/key` argument is rewritten to a local path, and the run touches only what it reads and
writes, as on AWS. An object is downloaded before the run. A prefix is laid out from one listing: its
directories, and per object a sparse placeholder of the object's size with its LastModified as mtime, so
existence checks, listings and sizes answer as on S3 while nothing is downloaded. When the script opens a
path under it (a Spark reader, or Python's `open`; glue_worker.py hooks both) the worker asks, and the
objects at or under that path are downloaded over their placeholders. Afterwards only what the script
changed goes back: a file not as the mirror left it (inode, size, mtime) is uploaded, and an object whose
file is gone (removed, or its directory replaced by Spark's overwrite) is deleted. A run past its timeout
is killed with its whole process group (the JVM included) before anything goes back, so nothing writes
after it, as nothing does after a stopped Glue run. All of it goes through the job role's client, IAM
enforced.
"""

import contextlib
import json
import mimetypes
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from offline_aws.clients import DUMMY_CREDENTIALS, emulation_client
from offline_aws.iam import enforce_on
from offline_aws.local_spark import pyspark_submit_args

# Glue's default job timeout: 48 hours.
DEFAULT_TIMEOUT_MINUTES = 2880
WORKER = Path(__file__).with_name("glue_worker.py")
_LOG_GROUP_OUTPUT = "/aws-glue/jobs/output"
_LOG_GROUP_ERROR = "/aws-glue/jobs/error"
_ERROR_MESSAGE_LIMIT = 2048


@dataclass(frozen=True)
class GlueJobRunRequest:
    job_name: str
    run_id: str
    script_location: str
    arguments: Mapping[str, str]
    timeout_minutes: int | None
    region: str
    role_arn: str = ""  # the job's role: its policies authorize the run's S3 and log calls


@dataclass(frozen=True)
class GlueJobRunOutcome:
    state: str  # SUCCEEDED | FAILED | TIMEOUT
    error_message: str | None = None


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, key


FileState = tuple[int, int, int]  # inode, size, mtime in ns: a file as the mirror left it
# Hadoop glob characters: a pattern stands for everything under its literal leading directory.
_GLOB_CHARACTERS = frozenset("*?[{\\")
_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


@dataclass(frozen=True)
class _Listed:
    key: str
    size: int
    last_modified_ns: int


@dataclass
class S3Mirror:
    """One `s3://` argument of a run as a local path (see the module's docstring)."""

    bucket: str
    key: str  # a prefix ends with "/" (or is "": the whole bucket)
    local: Path
    left: dict[str, FileState] = field(default_factory=dict)  # relative path ("" for an object) -> file
    unfetched: dict[str, _Listed] = field(default_factory=dict)  # relative path -> object, placeholder

    @property
    def is_prefix(self) -> bool:
        return not self.key or self.key.endswith("/")

    @classmethod
    def mirror_in(cls, s3: Any, uri: str, root: Path) -> "S3Mirror":
        bucket, key = parse_s3_uri(uri)
        local = root / bucket / key.rstrip("/") if key.strip("/") else root / bucket
        mirror = cls(bucket, key, local)
        if key and not key.endswith("/"):
            try:
                head = s3.head_object(Bucket=bucket, Key=key)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in _MISSING:
                    raise
            else:
                local.parent.mkdir(parents=True, exist_ok=True)
                mirror._download(s3, "", _Listed(key, head["ContentLength"], _ns(head["LastModified"])))
                return mirror
            mirror.key = key + "/"
        listed = list(mirror._list(s3))
        if not listed:
            # Nothing there yet: an output. Spark must find no directory, as on S3.
            local.parent.mkdir(parents=True, exist_ok=True)
            return mirror
        for obj in listed:
            relative = obj.key[len(mirror.key) :]
            target = local / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as placeholder:
                placeholder.truncate(obj.size)  # sparse: no data written
            os.utime(target, ns=(obj.last_modified_ns, obj.last_modified_ns))
            mirror.left[relative] = _state(target)
            mirror.unfetched[relative] = obj
        return mirror

    def _list(self, s3: Any) -> Iterator[_Listed]:
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.key):
                for obj in page.get("Contents", []):
                    if not obj["Key"].endswith("/"):
                        yield _Listed(obj["Key"], int(obj["Size"]), _ns(obj["LastModified"]))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchBucket":
                raise

    def fetch(self, s3: Any, path: str) -> int:
        """Downloads the objects at or under local `path` (a file, a directory or a glob) whose
        placeholders the script has left as they were; returns how many it downloaded."""
        relative = self._relative(path)
        if relative is None or not self.unfetched:
            return 0
        cut = next((i for i, c in enumerate(relative) if c in _GLOB_CHARACTERS), None)
        if cut is not None:
            relative = relative[:cut].rpartition("/")[0]
        wanted = [
            name
            for name in self.unfetched
            if not relative or name == relative or name.startswith(relative + "/")
        ]
        downloaded = 0
        for name in wanted:
            listed = self.unfetched.pop(name)
            target = self.local / name
            # A placeholder the script replaced or removed stays as the script left it.
            if target.is_file() and _state(target) == self.left.get(name):
                self._download(s3, name, listed)
                downloaded += 1
        return downloaded

    def _relative(self, path: str) -> str | None:
        local, normal = str(self.local), os.path.normpath(path)
        if normal == local:
            return ""
        if normal.startswith(local + os.sep):
            return normal[len(local) + 1 :].replace(os.sep, "/")
        return None

    def _download(self, s3: Any, relative: str, listed: _Listed) -> None:
        target = self.local / relative if relative else self.local
        s3.download_file(self.bucket, listed.key, str(target))
        os.utime(target, ns=(listed.last_modified_ns, listed.last_modified_ns))
        self.left[relative] = _state(target)

    def sync_back(self, s3: Any) -> None:
        if self.local.is_file():  # an object, or one the script wrote where nothing was
            if self.left.get("") != _state(self.local):
                _upload(s3, self.local, self.bucket, self.key.rstrip("/"))
            return
        current = dict(_files(self.local)) if self.local.is_dir() else {}
        written = sorted(name for name, state in current.items() if self.left.get(name) != state)
        for name in written:
            _upload(s3, self.local / name, self.bucket, self.key + name)
        # A file the script removed (its directory too) is an object it deleted, as on S3.
        for name in sorted(self.left.keys() - current.keys()):
            s3.delete_object(Bucket=self.bucket, Key=self.key + name)


# Scripted faults: "fail" runs FAILING_SCRIPT instead of the job's; "timeout" stops the run at once.
GLUE_FAULTS = ("fail", "timeout")
FAILING_SCRIPT = """import sys
print("GlueFault: the run failed as scripted (--fault glue=fail)", file=sys.stderr)
sys.exit(1)
"""


class GlueJobRunner:
    """Callable the Glue hook uses; one per emulation."""

    def __init__(
        self, *, work_dir: Path, endpoint_url: str, region: str, python: str = sys.executable
    ) -> None:
        self.work_dir = work_dir
        self.endpoint_url = endpoint_url
        self.region = region
        self.python = python
        self._lock = threading.Lock()
        self._faults: deque[str] = deque()
        self.minimum_run_seconds = 0.0
        self._worker = _WarmSpark(python, work_dir / "glue-worker", self._environment)
        # Reads a role's policies; when set, the run's calls are authorized as the job's role.
        self.role_policies: Callable[[str], list[dict[str, Any]]] | None = None

    def script_faults(self, *kinds: str) -> None:
        """The next runs end as Glue runs do when their script fails ("fail": it exits 1) or runs past the
        job's timeout ("timeout": stopped at once), one per fault, in order; then runs are normal again."""
        unknown = set(kinds) - set(GLUE_FAULTS)
        if unknown:
            raise ValueError(f"unknown Glue faults {sorted(unknown)}; known: {', '.join(GLUE_FAULTS)}")
        with self._lock:
            self._faults.extend(kinds)

    def slow_down(self, seconds: float) -> None:
        """Every run from now on lasts at least `seconds`, as real Glue runs (minutes, Flex starting
        later) do, so that overlapping executions can be tried at realistic lengths."""
        if seconds < 0:
            raise ValueError("a run's minimum length must not be negative")
        self.minimum_run_seconds = seconds

    def client(self, service: str, role_arn: str = "") -> Any:
        client = emulation_client(service, self.endpoint_url, self.region)
        read = self.role_policies
        if read is not None and role_arn:
            enforce_on(client, role_arn, lambda: read(role_arn))
        return client

    def terminate_all(self) -> None:
        self._worker.stop()

    def __call__(self, request: GlueJobRunRequest) -> GlueJobRunOutcome:
        run_dir = self.work_dir / "glue" / request.run_id
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        s3 = self.client("s3", request.role_arn)
        try:
            script = self._download_script(s3, request.script_location, run_dir / "script")
        except (ClientError, ValueError) as exc:
            return GlueJobRunOutcome("FAILED", f"Cannot read script {request.script_location}: {exc}")
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault == "fail":
            script.write_text(FAILING_SCRIPT)

        mirrors: dict[str, S3Mirror] = {}
        argv = ["--JOB_NAME", request.job_name, "--JOB_RUN_ID", request.run_id]
        for name, value in request.arguments.items():
            argv += [name, self._mirror_argument(s3, str(value), run_dir / "s3", mirrors)]

        stdout_path, stderr_path = run_dir / "stdout.log", run_dir / "stderr.log"
        stdout_path.touch()
        stderr_path.touch()
        started = time.monotonic()
        timeout_seconds = (
            0.0 if fault == "timeout" else 60 * (request.timeout_minutes or DEFAULT_TIMEOUT_MINUTES)
        )
        returncode = self._worker.run(
            {
                "script": str(script),
                "argv": argv,
                "cwd": str(run_dir),
                "stdout": str(stdout_path),
                "stderr": str(stderr_path),
                "lazy_roots": [str(m.local) for m in mirrors.values() if m.is_prefix],
            },
            timeout_seconds,
            lambda paths: self._fetch(s3, mirrors, paths),
        )

        if returncode is not None:
            # Padded before anything goes back: the run's writes appear when it ends, as on Glue.
            time.sleep(max(0.0, self.minimum_run_seconds - (time.monotonic() - started)))
        stderr_text = stderr_path.read_text(errors="replace")
        self._publish_logs(request, stdout_path.read_text(errors="replace"), stderr_text)
        # Glue scripts write straight to S3, so whatever a failed run wrote stays there too.
        try:
            for mirror in mirrors.values():
                mirror.sync_back(s3)
        except ClientError as exc:
            return GlueJobRunOutcome("FAILED", f"Writing job output to S3 failed: {exc}")
        if returncode is None:
            return GlueJobRunOutcome("TIMEOUT", f"Job run timed out after {request.timeout_minutes} minutes")
        if returncode != 0:
            return GlueJobRunOutcome("FAILED", error_message_from(stderr_text, returncode))
        return GlueJobRunOutcome("SUCCEEDED")

    def _environment(self, run_dir: Path) -> dict[str, str]:
        # Spark needs the caller's PATH/JAVA_HOME; AWS settings come only from the emulation.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_CONFIG_FILE": str(run_dir / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(run_dir / "no-aws-credentials"),
                **DUMMY_CREDENTIALS,
                "PYSPARK_PYTHON": self.python,
                "PYSPARK_DRIVER_PYTHON": self.python,
                "SPARK_LOCAL_IP": "127.0.0.1",
                "SPARK_LOCAL_DIRS": str(run_dir / "spark-local"),
                # The warm worker's JVM, tuned for short runs (offline_aws.local_spark).
                "PYSPARK_SUBMIT_ARGS": pyspark_submit_args(),
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        return env

    @staticmethod
    def _download_script(s3: Any, location: str, target_dir: Path) -> Path:
        bucket, key = parse_s3_uri(location)
        target_dir.mkdir(parents=True)
        target = target_dir / (key.rsplit("/", 1)[-1] or "script.py")
        s3.download_file(bucket, key, str(target))
        return target

    @staticmethod
    def _mirror_argument(s3: Any, value: str, root: Path, mirrors: dict[str, S3Mirror]) -> str:
        parts = value.split(",")
        if not all(part.startswith("s3://") for part in parts):
            return value
        local_parts = []
        for uri in parts:
            if uri not in mirrors:
                mirrors[uri] = S3Mirror.mirror_in(s3, uri, root)
            mirror = mirrors[uri]
            local_parts.append(str(mirror.local) + ("/" if uri.endswith("/") else ""))
        return ",".join(local_parts)

    @staticmethod
    def _fetch(s3: Any, mirrors: Mapping[str, S3Mirror], paths: list[str]) -> dict[str, Any]:
        """The worker's answer to a script opening `paths`: their objects downloaded, or why not."""
        try:
            fetched = sum(mirror.fetch(s3, path) for mirror in mirrors.values() for path in paths)
        except ClientError as exc:
            return {"error": str(exc)}
        return {"fetched": fetched}

    def _publish_logs(self, request: GlueJobRunRequest, stdout: str, stderr: str) -> None:
        run_id = request.run_id
        logs = self.client("logs", request.role_arn)
        for group, text in ((_LOG_GROUP_OUTPUT, stdout), (_LOG_GROUP_ERROR, stderr)):
            lines = [line for line in text.splitlines() if line.strip()][-10_000:]
            if not lines:
                continue
            try:
                logs.create_log_group(logGroupName=group)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                    raise
            logs.create_log_stream(logGroupName=group, logStreamName=run_id)
            now = int(time.time() * 1000)
            events = [{"timestamp": now, "message": line} for line in lines]
            for start in range(0, len(events), 1000):
                logs.put_log_events(
                    logGroupName=group, logStreamName=run_id, logEvents=events[start : start + 1000]
                )


class _WarmSpark:
    """The glue_worker process: started on the first run, kept for the next, replaced after a timeout."""

    def __init__(self, python: str, directory: Path, environment: Any) -> None:
        self.python = python
        self.directory = directory
        self.environment = environment
        self._lock = threading.Lock()  # one run at a time: they share the worker
        self._proc: subprocess.Popen[bytes] | None = None
        self._results: Any = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self.directory.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        with (self.directory / "worker.log").open("ab") as log:
            self._proc = subprocess.Popen(
                [self.python, str(WORKER), str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                pass_fds=(write_fd,),
                cwd=self.directory,
                start_new_session=True,  # its own process group, with the JVM it starts
                env=self.environment(self.directory),
            )
        os.close(write_fd)
        self._results = os.fdopen(read_fd, "r")
        return self._proc

    def run(
        self,
        request: Mapping[str, Any],
        timeout_seconds: float,
        fetch: Callable[[list[str]], dict[str, Any]],
    ) -> int | None:
        """The script's exit status, or None when it ran past `timeout_seconds` (the worker is killed).
        While it runs, the worker may ask for paths the script opens: `fetch` answers."""
        deadline = time.monotonic() + timeout_seconds
        with self._lock:
            proc = self._start()
            assert proc.stdin is not None
            self._send(proc, request)
            while True:
                remaining = max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select([self._results], [], [], remaining)
                line = self._results.readline() if ready else ""
                if not line:  # timed out, or the worker died (the JVM crashed, say)
                    self._kill()
                    return None if not ready else 1
                message = json.loads(line)
                if "fetch" not in message:
                    return int(message["returncode"])
                # The worker waits for this answer, so no second line is ever buffered unread.
                self._send(proc, fetch(list(message["fetch"])))

    @staticmethod
    def _send(proc: subprocess.Popen[bytes], message: Mapping[str, Any]) -> None:
        assert proc.stdin is not None
        proc.stdin.write((json.dumps(message) + "\n").encode())
        proc.stdin.flush()

    def _kill(self) -> None:
        if self._proc is not None:
            group = self._proc.pid
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self._proc.wait()
            self._proc = None
            _wait_for_group_to_end(group)
        if self._results is not None:
            self._results.close()
            self._results = None

    def stop(self) -> None:
        with self._lock:
            self._kill()


def _wait_for_group_to_end(group: int) -> None:
    """Until no live process of `group` is left (the JVM the killed worker started dies on its own)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for _ in range(1000):
        alive = False
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                alive = True
                break
        if not alive:
            return
        time.sleep(0.01)


def error_message_from(stderr: str, returncode: int) -> str:
    """The failed script's error as Glue reports it: its last traceback, else the tail of stderr."""
    lines = stderr.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last):")]
    if starts:
        block = [lines[starts[-1]]]
        for line in lines[starts[-1] + 1 :]:
            block.append(line)
            if line and not line[0].isspace():
                break  # the exception line ends the traceback
        exception_line = block[-1]
        text = exception_line + "\n" + "\n".join(block[:-1])
    else:
        tail = [line for line in lines if not re.match(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (INFO|WARN) ", line)]
        text = "\n".join(tail[-20:]) or f"Script exited with status {returncode}"
    return text[:_ERROR_MESSAGE_LIMIT]


def _files(root: Path) -> Iterator[tuple[str, FileState]]:
    for directory, _, names in os.walk(root):
        for name in names:
            # Hadoop's local filesystem writes .<name>.crc beside each file; S3 never sees them.
            if not (name.startswith(".") and name.endswith(".crc")):
                path = Path(directory, name)
                yield path.relative_to(root).as_posix(), _state(path)


def _state(path: Path) -> FileState:
    status = path.stat()
    return status.st_ino, status.st_size, status.st_mtime_ns


def _ns(last_modified: Any) -> int:
    return int(last_modified.timestamp()) * 1_000_000_000


def _upload(s3: Any, path: Path, bucket: str, key: str) -> None:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
