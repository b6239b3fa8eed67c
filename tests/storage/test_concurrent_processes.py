"""Several bot processes writing to one database at once lose nothing: ratings, jobs, model records.

Run on both backends; on PostgreSQL it is the case issue 16 is about (several shards sharing one database).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from storage import Storage
from tests.helpers.factories import new_track

WRITER = Path(__file__).with_name("concurrent_writer.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
PROCESSES, COUNT = 4, 15


async def test_concurrent_writer_processes_lose_nothing(database_target: Path | str, tmp_path: Path) -> None:
    media = tmp_path / "media"
    async with await Storage.open(database_target, media) as storage:
        track = await storage.tracks.add(new_track())
        await storage.models.register("shared", "/models/shared.pt", {})

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    start_at = time.time() + 3.0  # after every child has opened its storage
    children = [
        subprocess.Popen([sys.executable, str(WRITER), str(database_target), str(media), str(worker), str(COUNT), str(track.id), str(start_at)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for worker in range(PROCESSES)
    ]
    outputs = [child.communicate(timeout=240) for child in children]
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0 and out.strip() == "ok", err[-3000:]

    async with await Storage.open(database_target, media) as storage:
        expected_users = {10_000 * (w + 1) + i for w in range(PROCESSES) for i in range(COUNT)}
        ratings = await storage.ratings.for_track(track.id)
        assert {r.user_id for r in ratings} == expected_users
        assert all(r.score == 1 + (r.user_id // 10_000 - 1 + r.user_id % 10_000) % 5 for r in ratings)

        jobs = await storage.db.fetchall("SELECT id, status, interaction_token, track_id, request FROM jobs")
        assert len(jobs) == PROCESSES * COUNT and len({j["id"] for j in jobs}) == PROCESSES * COUNT
        made = {(json.loads(j["request"])["worker"], json.loads(j["request"])["n"]) for j in jobs}
        assert made == {(w, i) for w in range(PROCESSES) for i in range(COUNT)}
        assert {j["interaction_token"] for j in jobs} == {None}  # a finished job drops its interaction token
        assert {(j["status"], j["track_id"]) for j in jobs} == {("done", track.id)}

        versions = {v.version: v for v in await storage.models.history()}
        assert set(versions) == {"shared"} | {f"w{w}-v{i}" for w in range(PROCESSES) for i in range(COUNT)}
        # Every process's read-modify-write of the shared record survived the others'.
        assert versions["shared"].metrics == {f"w{w}_{i}": i for w in range(PROCESSES) for i in range(COUNT)}
        active = [v for v in versions.values() if v.active]
        assert len(active) == 1
        # Each activation remembered the version active just before it: the chain walks back through every activation.
        chain, current = [], active[0]
        while current.previous_version is not None:
            chain.append(current.version)
            current = versions[current.previous_version]
        chain.append(current.version)
        assert len(chain) >= 2
