"""File bytes in an S3-compatible object store: moto's S3 server over real HTTP, driven by the server's
boto3 client; the openai SDK on the other side (multipart upload of a file larger than one S3 part,
streamed content, ingestion into a vector store, deletion, the size limit aborting the upload)."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import openai
import pytest
from conftest import PYGENTIC, make_settings, sdk_client
from fake_upstream import FakeUpstream
from moto import server as moto_server

from pygentic.config import FilesSettings

MB = 1024 * 1024
BUCKET = "pygentic-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **_keys())
    s3.create_bucket(Bucket=BUCKET)
    yield s3
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    for upload in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=BUCKET)


def _keys() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


@pytest.fixture
def client(tmp_path: Path, upstream: FakeUpstream, s3_endpoint: str, bucket: Any) -> Iterator[openai.OpenAI]:
    files = FilesSettings(
        url=f"s3://{BUCKET}/tenant-a", endpoint_url=s3_endpoint, region="us-east-1", max_bytes=30 * MB
    )
    settings = dataclasses.replace(make_settings(f"sqlite:///{tmp_path / 's3.db'}", upstream), files=files)
    with sdk_client(settings) as sdk:
        yield sdk


def _objects(s3: Any) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_files_live_in_the_bucket_and_stream_both_ways(client: openai.OpenAI, bucket: Any) -> None:
    data = os.urandom(20 * MB + 123)  # three S3 parts of 8 MiB (the last one shorter)
    uploaded = client.files.create(file=("big.bin", data), purpose="assistants")
    assert uploaded.bytes == len(data)
    assert _objects(bucket) == [f"tenant-a/{uploaded.id}"]
    assert bucket.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert client.files.content(uploaded.id).read() == data

    small = client.files.create(file=("notes.txt", b"hello"), purpose="user_data")  # one PUT, no parts
    assert bucket.get_object(Bucket=BUCKET, Key=f"tenant-a/{small.id}")["Body"].read() == b"hello"

    assert client.files.delete(uploaded.id).deleted
    assert _objects(bucket) == [f"tenant-a/{small.id}"]
    with pytest.raises(openai.NotFoundError):
        client.files.content(uploaded.id)


def test_an_upload_past_the_limit_keeps_nothing(client: openai.OpenAI, bucket: Any) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.files.create(file=("huge.bin", os.urandom(31 * MB)), purpose="assistants")
    assert info.value.status_code in (400, 413)
    assert _objects(bucket) == []
    assert bucket.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []  # aborted
    assert list(client.files.list()) == []


def test_vector_store_ingestion_reads_from_the_bucket(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="kb")
    added = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("bread.md", b"# Bread\n\nKnead the dough for ten minutes, then let it rise for an hour."),
        poll_interval_ms=50,
    )
    assert added.status == "completed", added.last_error
    found = client.vector_stores.search(store.id, query="how long should dough rise").data
    assert found and "rise for an hour" in found[0].content[0].text


def test_a_missing_bucket_stops_startup_with_its_name(tmp_path: Path, s3_endpoint: str, bucket: Any) -> None:
    config = tmp_path / "connectors.toml"
    config.write_text(
        f'[connectors.database]\nurl = "sqlite:///{tmp_path / "x.db"}"\n'
        f'[connectors.files]\nurl = "s3://no-such-bucket/x"\nendpoint_url = "{s3_endpoint}"\n'
        'region = "us-east-1"\n'
    )
    done = subprocess.run(
        [PYGENTIC, "serve", "--config", str(config), "--grpc-port", "0", "--no-gateway"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **CREDENTIALS},
    )
    assert done.returncode != 0
    assert "no-such-bucket" in done.stderr and "cannot use" in done.stderr
