"""A child process for the durability test: rates a track over and over, printing each acknowledged write.

Usage: python rating_writer.py DATABASE MEDIA_DIR TRACK_ID  (DATABASE: a SQLite file or a postgresql:// URL)
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from storage import Storage


async def main(database: str, media: Path, track_id: int) -> None:
    async with await Storage.open(database, media) as storage:
        user_id = 1
        while True:
            await storage.ratings.set(user_id, track_id, 1 + user_id % 5)
            # Printed only after set() returned: from here on the rating must survive anything.
            print(user_id, flush=True)
            user_id += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])))  # a file's path or a postgresql:// URL
