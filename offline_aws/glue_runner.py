"""Runs a Glue job run for real: the job's script on local Spark, its S3 paths mirrored to local disk.

The emulation's Glue hook hands every StartJobRun here (on a worker thread). The script is downloaded
from its `ScriptLocation` in the emulated S3 and run, its arguments as `--name value` pairs like Glue
passes them, by one warm local Spark (glue_worker.py: one JVM for the emulation's life, a fresh
SparkSession per run), so only the first run pays Spark's start. Every `s3://bucket/key` argument is first
mirrored to a local path (the object, or every object under the prefix) and rewritten to it; afterwards
whatever the script wrote there goes back to the emulated S3: new and changed files are uploaded, and
for a prefix the script wrote to, objects whose files it removed are deleted (Spark's overwrite).
"""

import hashlib
import json
import mimetypes
import os
import re
import select
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from offline_aws.clients import DUMMY_CREDENTIALS, emulation_client
from offline_aws.iam import enforce_on

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


@dataclass
class _Mirror:
    bucket: str
    key: str  # a prefix ends with "/"
    local: Path
    hashes: dict[str, str] = field(default_factory=dict)  # relative path ("" for an object) -> md5


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, key


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

        mirrors: dict[str, _Mirror] = {}
        argv = ["--JOB_NAME", request.job_name, "--JOB_RUN_ID", request.run_id]
        for name, value in request.arguments.items():
            argv += [name, self._mirror_argument(s3, str(value), run_dir / "s3", mirrors)]

        stdout_path, stderr_path = run_dir / "stdout.log", run_dir / "stderr.log"
        stdout_path.touch()
        stderr_path.touch()
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
            },
            timeout_seconds,
        )

        stderr_text = stderr_path.read_text(errors="replace")
        self._publish_logs(request, stdout_path.read_text(errors="replace"), stderr_text)
        # Glue scripts write straight to S3, so whatever a failed run wrote stays there too.
        try:
            for mirror in mirrors.values():
                self._sync_back(s3, mirror)
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

    def _mirror_argument(self, s3: Any, value: str, root: Path, mirrors: dict[str, _Mirror]) -> str:
        parts = value.split(",")
        if not all(part.startswith("s3://") for part in parts):
            return value
        local_parts = []
        for uri in parts:
            if uri not in mirrors:
                mirrors[uri] = self._mirror_in(s3, uri, root)
            mirror = mirrors[uri]
            local_parts.append(str(mirror.local) + ("/" if uri.endswith("/") else ""))
        return ",".join(local_parts)

    @staticmethod
    def _mirror_in(s3: Any, uri: str, root: Path) -> _Mirror:
        bucket, key = parse_s3_uri(uri)
        local = root / bucket / key.rstrip("/") if key.strip("/") else root / bucket
        mirror = _Mirror(bucket, key, local)
        if key and not key.endswith("/"):
            try:
                s3.head_object(Bucket=bucket, Key=key)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
                    raise
            else:
                local.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, key, str(local))
                mirror.hashes[""] = _md5(local)
                return mirror
            mirror.key = key + "/"
        prefix = mirror.key
        try:
            pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchBucket":
                raise
            pages = []
        keys = [
            obj["Key"] for page in pages for obj in page.get("Contents", []) if not obj["Key"].endswith("/")
        ]
        if not keys:
            # Nothing there yet: an output. Spark must find no directory, as on S3.
            local.parent.mkdir(parents=True, exist_ok=True)
            return mirror
        for object_key in keys:
            relative = object_key[len(prefix) :]
            target = local / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, object_key, str(target))
            mirror.hashes[relative] = _md5(target)
        return mirror

    @staticmethod
    def _sync_back(s3: Any, mirror: _Mirror) -> None:
        if mirror.local.is_file():
            if mirror.hashes.get("") != _md5(mirror.local):
                _upload(s3, mirror.local, mirror.bucket, mirror.key.rstrip("/"))
            return
        if not mirror.local.is_dir():
            return
        prefix = mirror.key if mirror.key.endswith("/") or not mirror.key else mirror.key + "/"
        current = {
            path.relative_to(mirror.local).as_posix(): _md5(path)
            for path in sorted(mirror.local.rglob("*"))
            if path.is_file() and not _is_checksum_file(path)
        }
        written = [relative for relative, digest in current.items() if mirror.hashes.get(relative) != digest]
        for relative in written:
            _upload(s3, mirror.local / relative, mirror.bucket, prefix + relative)
        if written:
            for relative in sorted(mirror.hashes.keys() - current.keys()):
                s3.delete_object(Bucket=mirror.bucket, Key=prefix + relative)

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
                env=self.environment(self.directory),
            )
        os.close(write_fd)
        self._results = os.fdopen(read_fd, "r")
        return self._proc

    def run(self, request: Mapping[str, Any], timeout_seconds: float) -> int | None:
        """The script's exit status, or None when it ran past `timeout_seconds` (the worker is killed)."""
        with self._lock:
            proc = self._start()
            assert proc.stdin is not None
            proc.stdin.write((json.dumps(request) + "\n").encode())
            proc.stdin.flush()
            ready, _, _ = select.select([self._results], [], [], timeout_seconds)
            line = self._results.readline() if ready else ""
            if not line:  # timed out, or the worker died (the JVM crashed, say)
                self._kill()
                return None if not ready else 1
            return int(json.loads(line)["returncode"])

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        if self._results is not None:
            self._results.close()
            self._results = None

    def stop(self) -> None:
        with self._lock:
            self._kill()


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


def _is_checksum_file(path: Path) -> bool:
    # Hadoop's local filesystem writes .<name>.crc beside each file; S3 never sees them.
    return path.name.startswith(".") and path.name.endswith(".crc")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _upload(s3: Any, path: Path, bucket: str, key: str) -> None:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
