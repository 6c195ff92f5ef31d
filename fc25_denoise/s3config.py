"""The S3-compatible storage backend's options, in one place for the settings and tests."""

from __future__ import annotations

from typing import Any

S3_MEMORY_BYTES = 8 * 1024 * 1024
"""Largest stored file django-storages keeps in memory when it is opened whole (the
peaks route's first read, a job fetching its input); beyond this it spools to a local
temporary file. The library's default, 0, means never: a three-hour recording would sit
in RAM for each such read."""

S3_CONNECT_TIMEOUT_S = 5
S3_READ_TIMEOUT_S = 20
S3_MAX_ATTEMPTS = 3


def s3_storage(
    bucket: str, endpoint_url: str | None, region: str | None, prefix: str
) -> dict[str, Any]:
    """``STORAGES["default"]`` for ``storages.backends.s3.S3Storage`` on ``bucket``.

    Credentials are not options: boto3 reads the usual ``AWS_*`` variables or the
    instance role, never this project's files.
    """
    from botocore.config import Config as BotoConfig

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            "region_name": region,
            "location": prefix,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            "max_memory_size": S3_MEMORY_BYTES,
            # botocore waits 60 s per read and retries up to 4 times: a store that
            # accepts connections and never answers would hold a thread for minutes.
            "client_config": BotoConfig(
                connect_timeout=S3_CONNECT_TIMEOUT_S,
                read_timeout=S3_READ_TIMEOUT_S,
                retries={"max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"},
            ),
        },
    }
