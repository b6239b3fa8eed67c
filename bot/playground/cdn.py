"""Serving stored attachments back over HTTP, with byte ranges so <audio> elements can seek."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from bot.playground.messages import MessageStore

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def attachment_handler(store: MessageStore) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /cdn/attachments/{channel_id}/{attachment_id}/{filename}; `?download=1` asks the browser to save it."""

    async def serve(request: web.Request) -> web.Response:
        try:
            attachment = store.attachment(int(request.match_info["attachment_id"]))
        except ValueError:
            attachment = None
        if attachment is None or str(attachment.channel_id) != request.match_info["channel_id"]:
            raise web.HTTPNotFound(text="This content is no longer available.")
        data = attachment.data
        headers = {"Accept-Ranges": "bytes", "Cache-Control": "no-store"}
        if request.query.get("download"):
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(attachment.filename)}"
        match = RANGE.match(request.headers.get("Range", ""))
        if match and (match.group(1) or match.group(2)) and data:
            start_text, end_text = match.groups()
            if start_text:
                start, end = int(start_text), min(int(end_text) if end_text else len(data) - 1, len(data) - 1)
            else:
                start, end = max(0, len(data) - int(end_text)), len(data) - 1
            if start > end:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return web.Response(status=206, body=data[start : end + 1], content_type=attachment.content_type, headers=headers)
        return web.Response(body=data, content_type=attachment.content_type, headers=headers)

    return serve
