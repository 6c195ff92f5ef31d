#!/bin/sh
# An S3 API on 127.0.0.1:$FC25_S3_PORT (moto's server), with the bucket $FC25_S3_BUCKET
# created once it answers. Objects live in this container's memory.
set -eu
/opt/s3/bin/moto_server -H 127.0.0.1 -p "$FC25_S3_PORT" &
server=$!
trap 'kill -TERM $server' TERM INT
/opt/s3/bin/python /opt/fc25/s3_bucket.py
wait $server
