"""A child process for the concurrent-writers test: one bot process's worth of writes to a shared database.

Usage: python concurrent_writer.py DATABASE MEDIA_DIR WORKER COUNT TRACK_ID START_AT

Waits until START_AT (a time.time() value) so every process writes at once, then, COUNT times: rates the shared
track as a user of its own, creates a job (all COUNT at once: group commit) and runs it to done, registers a model
version of its own, merges a metric of its own into the shared model version (a read-modify-write: lost if two
processes' transactions interleave) and activates its version (a switch every process contends for).
Prints "ok" at the end; any error exits non-zero with its traceback.
"""

from __future__ import annotations

import asyncio
import sys
import time

from storage import Storage


async def main(database: str, media: str, worker: int, count: int, track_id: int, start_at: float) -> None:
    async with await Storage.open(database, media) as storage:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        user_base = 10_000 * (worker + 1)
        jobs = await asyncio.gather(*(storage.jobs.create("compose", {"worker": worker, "n": i}, user_id=user_base + i,
                                                          interaction_token=f"w{worker}-{i}") for i in range(count)))
        for i, job in enumerate(jobs):
            await storage.ratings.set(user_base + i, track_id, 1 + (worker + i) % 5)
            await storage.jobs.start(job.id)
            await storage.jobs.finish(job.id, track_id=track_id)
            version = f"w{worker}-v{i}"
            await storage.models.register(version, f"/models/{version}.pt", {"worker": worker})
            await storage.models.update_metrics("shared", {f"w{worker}_{i}": i})
            await storage.models.activate(version)
    print("ok", flush=True)


if __name__ == "__main__":
    database, media, worker, count, track_id, start_at = sys.argv[1:7]
    asyncio.run(main(database, media, int(worker), int(count), int(track_id), float(start_at)))
