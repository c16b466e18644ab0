"""Object storage on S3 (or any S3-compatible server) through aioboto3.

Credentials, region and endpoint come from the standard AWS variables (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL, profiles, instance roles) as boto resolves them.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Literal

import aioboto3
from botocore.exceptions import BotoCoreError, ClientError

from engine.options import Section, knob
from engine.ports.storage import StorageError, check_key


class StorageSettings(Section):
    prefix: ClassVar[str] = "TAINA_STORAGE"
    url: str = knob(
        "",
        "Where originals and recordings are kept: file:///path, or s3://bucket/prefix (credentials, region and "
        "AWS_ENDPOINT_URL from the standard AWS variables); empty means file://<data dir>/objects.",
        env="TAINA_STORAGE",
        form=(r"^$|^file://|^s3://", "be file:///path or s3://bucket/prefix"),
    )
    sse: Literal["", "AES256", "aws:kms"] = knob(
        "AES256", "S3 server-side encryption: AES256 (the default), aws:kms, or empty for the bucket's own."
    )
    kms_key_id: str = knob("", "KMS key for aws:kms server-side encryption (empty: the bucket's default).")
    encryption_key: str = knob(
        "",
        "Key (base64 of 32 random bytes) the file store encrypts objects with (AES-256-GCM); empty: one made "
        "once in <data dir>/storage_key. Keep a copy: objects cannot be read without it.",
        secret=True,
    )


class S3Store:
    name = "s3"

    def __init__(self, bucket: str, prefix: str, settings: StorageSettings) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._settings = settings
        self._session = aioboto3.Session()
        self._stack = contextlib.AsyncExitStack()
        self._client: Any = None

    @classmethod
    def from_url(cls, url: str, settings: StorageSettings) -> S3Store:
        rest = url.removeprefix("s3://")
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise StorageError(f"TAINA_STORAGE={url}: no bucket named (s3://bucket/prefix)")
        return cls(bucket, prefix, settings)

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _s3(self) -> Any:
        if self._client is None:
            self._client = await self._stack.enter_async_context(self._session.client("s3"))
        return self._client

    async def check(self) -> None:
        try:
            await (await self._s3()).head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"cannot use the S3 bucket {self.bucket!r}: {exc}") from exc

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        extra: dict[str, str] = {}
        if self._settings.sse:
            extra["ServerSideEncryption"] = self._settings.sse
            if self._settings.sse == "aws:kms" and self._settings.kms_key_id:
                extra["SSEKMSKeyId"] = self._settings.kms_key_id
        await (await self._s3()).put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type, **extra
        )

    async def get(self, key: str) -> bytes:
        try:
            response = await (await self._s3()).get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise KeyError(key) from None
            raise
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def delete(self, key: str) -> None:
        await (await self._s3()).delete_object(Bucket=self.bucket, Key=self._key(key))

    async def exists(self, key: str) -> bool:
        try:
            await (await self._s3()).head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._client = None
