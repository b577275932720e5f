"""Plain helpers for the emulation tests (conftest.py holds the fixtures)."""

import io
import uuid
import zipfile
from pathlib import Path

# Small enough that a 60 s Wait or a long Retry back-off costs milliseconds.
TEST_TIME_SCALE = 0.001


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()
