"""Users: who has used the bot, and forgetting someone completely when they ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.database import Database, Transaction, parse_time, utc_now
from storage.dialect import json_integer, json_set_null, json_text


@dataclass(frozen=True)
class User:
    id: int  # Discord user id
    display_name: str | None
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class ForgetReport:
    """What forgetting a user removed or anonymised, to tell them."""

    user_id: int
    ratings_deleted: int
    jobs_deleted: int
    tracks_anonymised: int
    user_deleted: bool
    jobs_detached: int = 0  # requests still composing: they finish, but their tracks are stored anonymised
    prompt_copies_cleared: int = 0  # the user's prompts copied into other people's Regenerated tracks


async def touch_user(tx: Transaction, user_id: int, display_name: str | None = None) -> None:
    """Register the user if new and note they were seen; used inside every write that names a user."""
    now = utc_now()
    await tx.execute(
        """
        INSERT INTO users (id, display_name, created_at, last_seen_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at,
                                       display_name = COALESCE(excluded.display_name, users.display_name)
        """,
        (user_id, display_name, now, now),
    )


async def touch_users(tx: Transaction, user_ids: list[int]) -> None:
    """touch_user for several users in one statement."""
    now = utc_now()
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start:start + 500]
        await tx.execute(
            "INSERT INTO users (id, display_name, created_at, last_seen_at) VALUES " + ", ".join(["(?, NULL, ?, ?)"] * len(chunk))
            + " ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            [value for user_id in chunk for value in (user_id, now, now)],
        )


class UserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def touch(self, user_id: int, display_name: str | None = None) -> None:
        async with self._db.transaction() as tx:
            await touch_user(tx, user_id, display_name)

    async def get(self, user_id: int) -> User | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        if row is None:
            return None
        return User(row["id"], row["display_name"], parse_time(row["created_at"]), parse_time(row["last_seen_at"]))

    async def forget(self, user_id: int) -> ForgetReport:
        """Delete the user's ratings, finished jobs (with their interaction tokens) and user row, and anonymise
        their tracks, in one transaction: afterwards no row anywhere refers to them.

        Tracks stay because other people may have rated or remixed them; the prompt goes too, since it is
        text the user wrote, and so do its copies in other people's Regenerated tracks and requests.
        Requests still composing are detached (no user, no token, no prompt) rather than deleted, so they can
        finish; `TrackRepository.add` then sees the detached job and stores the track anonymised.
        """
        async with self._db.transaction() as tx:
            ratings = await tx.execute("DELETE FROM ratings WHERE user_id = ?", (user_id,))
            copies = await tx.fetchall(_PROMPT_COPIES, (user_id,))
            copy_ids = [row["id"] for row in copies]
            others = sum(1 for row in copies if row["user_id"] != user_id)
            if copy_ids:
                marks = ", ".join("?" * len(copy_ids))
                await tx.execute(f"UPDATE tracks SET prompt = NULL WHERE id IN ({marks})", copy_ids)
                # Other people's requests to regenerate one of those tracks hold the same text.
                await tx.execute(
                    f"""
                    UPDATE jobs SET request = {json_set_null(tx.dialect, 'request', '$.request.prompt')}
                    WHERE {json_text(tx.dialect, 'request', '$.relation')} = 'regenerate'
                      AND {json_integer(tx.dialect, 'request', '$.parent_id')} IN ({marks})
                    """,
                    copy_ids,
                )
            detached = await tx.execute(
                f"""
                UPDATE jobs SET user_id = NULL, interaction_token = NULL, request = {json_set_null(tx.dialect, 'request', '$.request.prompt')}
                WHERE user_id = ? AND status IN ('queued', 'running')
                """,
                (user_id,),
            )
            jobs = await tx.execute("DELETE FROM jobs WHERE user_id = ?", (user_id,))
            tracks = await tx.execute("UPDATE tracks SET user_id = NULL, prompt = NULL WHERE user_id = ?", (user_id,))
            user = await tx.execute("DELETE FROM users WHERE id = ?", (user_id,))
            return ForgetReport(user_id, ratings.rowcount, jobs.rowcount, tracks.rowcount, user.rowcount > 0, detached.rowcount, others)


# The user's tracks with a prompt, and every track Regenerated from them (Regenerate copies the prompt;
# the other buttons do not), however many Regenerates deep.
_PROMPT_COPIES = """
    WITH RECURSIVE copies(id) AS (
        SELECT id FROM tracks WHERE user_id = ? AND prompt IS NOT NULL
        UNION
        SELECT t.id FROM tracks t JOIN copies c ON t.parent_id = c.id WHERE t.relation = 'regenerate'
    )
    SELECT tracks.id, tracks.user_id FROM copies JOIN tracks ON tracks.id = copies.id WHERE tracks.prompt IS NOT NULL
"""


__all__ = ["User", "ForgetReport", "UserRepository", "touch_user", "touch_users"]
