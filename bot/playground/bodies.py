"""Reading REST request bodies: JSON, or multipart with `payload_json` and `files[n]` parts.

Uploads are streamed part by part so an oversized file is refused with Discord's 413/40005
without being held in memory whole.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from bot.playground.errors import entity_too_large, invalid_form_body, invalid_json

MAX_REQUEST_BYTES = 25 * 1024 * 1024  # Discord refuses a whole request (all files together) over 25 MiB
MAX_FILES = 10

FILE_FIELD = re.compile(r"^(?:files?)(?:\[(\d+)\])?$")
CHUNK = 64 * 1024


@dataclass
class UploadedFile:
    index: int
    filename: str
    data: bytes


@dataclass
class RequestBody:
    payload: Any = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise invalid_json() from None


async def read_body(request: web.Request, upload_limit: int) -> RequestBody:
    if request.content_type.startswith("multipart/"):
        return await _read_multipart(request, upload_limit)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise entity_too_large() from None
    return RequestBody(payload=_parse_json(raw))


async def _read_multipart(request: web.Request, upload_limit: int) -> RequestBody:
    body = RequestBody()
    reader = await request.multipart()
    implicit_index = 0
    total = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name or ""
        if name == "payload_json":
            body.payload = _parse_json(await _read_part(part, upload_limit))
            continue
        match = FILE_FIELD.match(name)
        if match is None:
            continue  # Discord ignores unknown form fields
        index = int(match.group(1)) if match.group(1) is not None else implicit_index
        implicit_index += 1
        data = await _read_part(part, min(upload_limit, MAX_REQUEST_BYTES - total))
        total += len(data)
        if not part.filename:
            raise invalid_form_body({name: {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "A file name is required."}]}})
        body.files.append(UploadedFile(index=index, filename=part.filename, data=data))
    if len(body.files) > MAX_FILES:
        raise invalid_form_body({"files": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {MAX_FILES} or fewer in length."}]}})
    return body


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    chunks = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        chunks.extend(chunk)
        if len(chunks) > limit:
            raise entity_too_large()
    return bytes(chunks)
