"""Wait for the S3 server on 127.0.0.1:$FC25_S3_PORT, then create $FC25_S3_BUCKET.

With ``--check``: exit 0 when the bucket exists (the compose health check)."""

import os
import sys
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError

client = boto3.client(
    "s3",
    endpoint_url=f"http://127.0.0.1:{os.environ['FC25_S3_PORT']}",
    region_name=os.environ.get("FC25_S3_REGION") or "us-east-1",
    aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
)
bucket = os.environ["FC25_S3_BUCKET"]
if "--check" in sys.argv:
    try:
        client.head_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError):
        sys.exit(1)
    sys.exit(0)
for _ in range(120):
    try:
        client.head_bucket(Bucket=bucket)
        break
    except ClientError:
        client.create_bucket(Bucket=bucket)
        print(f"created bucket {bucket}", flush=True)
        break
    except BotoCoreError:
        time.sleep(0.5)
else:
    sys.exit("the S3 server did not answer")
