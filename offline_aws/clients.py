"""boto3 clients and credentials for talking to the emulation, from this process or a subprocess."""

from typing import Any

import boto3
from botocore.config import Config

# The emulation accepts any credentials; fixed dummy ones keep real ones out of every request.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "offline-access-key",
    "AWS_SECRET_ACCESS_KEY": "offline-secret-key",
    "AWS_SESSION_TOKEN": "offline-session-token",
}


def emulation_client(service: str, endpoint_url: str, region: str, **config: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}, **config),
    )
