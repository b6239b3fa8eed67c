from __future__ import annotations

from storage import Storage
from tests.helpers.factories import new_track

FORGOTTEN = 987654321012345678  # a Discord-sized id that no other value in the database can equal by chance
OTHER = 123456789098765432


async def _cells_holding(storage: Storage, value: int) -> list[str]:
    """Every table.column (over the whole schema, found through the database's catalogue: sqlite_master, or
    PostgreSQL's information_schema) with a cell equal to `value`, as a number or as text."""
    found = []
    for table, columns in (await storage.db.table_columns()).items():
        for name in columns:
            count = await storage.db.fetchval(f'SELECT COUNT(*) FROM "{table}" WHERE CAST("{name}" AS TEXT) = ?', (str(value),))
            if count:
                found.append(f"{table}.{name}")
    return found


async def test_forgetting_a_user_leaves_no_row_that_refers_to_them(storage: Storage) -> None:
    await storage.users.touch(FORGOTTEN, "Ada")
    mine = await storage.tracks.add(new_track(user_id=FORGOTTEN, prompt="for my cat"))
    theirs = await storage.tracks.add(new_track(user_id=OTHER))
    remix = await storage.tracks.add(new_track(user_id=OTHER, parent_id=mine.id, relation="variation"))
    await storage.ratings.set(FORGOTTEN, theirs.id, 5)
    await storage.ratings.set(FORGOTTEN, mine.id, 4)
    await storage.ratings.set(OTHER, mine.id, 3)
    job = await storage.jobs.create("compose", {"style": "jazz"}, user_id=FORGOTTEN, interaction_token="secret-token")
    await storage.jobs.start(job.id)
    await storage.jobs.create("compose", {}, user_id=OTHER)
    assert len(await _cells_holding(storage, FORGOTTEN)) >= 4  # the probe does find them before

    report = await storage.users.forget(FORGOTTEN)

    # The running job is detached (no user, no token) so it can finish, rather than deleted.
    assert (report.ratings_deleted, report.jobs_deleted, report.tracks_anonymised, report.user_deleted) == (2, 0, 1, True)
    assert report.jobs_detached == 1
    assert await _cells_holding(storage, FORGOTTEN) == []
    assert await storage.db.fetchval("SELECT COUNT(*) FROM jobs WHERE interaction_token = 'secret-token'") == 0
    anonymised = await storage.tracks.get(mine.id)
    assert anonymised is not None and anonymised.user_id is None and anonymised.prompt is None
    # Other people's data stays, including their rating of the anonymised track and their remix of it.
    assert (await storage.ratings.get(OTHER, mine.id)).score == 3
    assert (await storage.tracks.get(remix.id)).parent_id == mine.id
    assert await storage.users.get(OTHER) is not None
    assert len(await storage.jobs.recent(user_id=OTHER)) == 1


async def test_forgetting_someone_unknown_is_harmless(storage: Storage) -> None:
    report = await storage.users.forget(5)
    assert (report.ratings_deleted, report.jobs_deleted, report.tracks_anonymised, report.user_deleted) == (0, 0, 0, False)


async def test_touch_records_name_and_keeps_it(storage: Storage) -> None:
    await storage.users.touch(1, "Ada")
    await storage.users.touch(1)
    user = await storage.users.get(1)
    assert user is not None and user.display_name == "Ada" and user.last_seen_at >= user.created_at


async def test_finished_jobs_are_deleted_and_running_ones_lose_user_token_and_prompt(storage: Storage) -> None:
    done = await storage.jobs.create("compose", {"request": {"prompt": "for my cat"}}, user_id=FORGOTTEN, interaction_token="t1")
    await storage.jobs.finish(done.id)
    running = await storage.jobs.create("compose", {"request": {"prompt": "for my cat", "style": "jazz"}}, user_id=FORGOTTEN, interaction_token="t2")
    await storage.jobs.start(running.id)

    report = await storage.users.forget(FORGOTTEN)

    assert (report.jobs_deleted, report.jobs_detached) == (1, 1)
    assert await storage.jobs.get(done.id) is None
    detached = await storage.jobs.get(running.id)
    assert detached is not None and detached.user_id is None and detached.interaction_token is None
    assert detached.request["request"] == {"prompt": None, "style": "jazz"}
    finished = await storage.jobs.finish(running.id)  # its life cycle goes on
    assert finished.status == "done"


async def test_a_track_finished_after_its_user_was_forgotten_is_stored_anonymised(storage: Storage) -> None:
    job = await storage.jobs.create("compose", {"request": {"prompt": "for my cat"}}, user_id=FORGOTTEN)
    await storage.jobs.start(job.id)
    await storage.users.forget(FORGOTTEN)  # while the track is still being composed

    track = await storage.tracks.add(new_track(user_id=FORGOTTEN, prompt="for my cat"), job_id=job.id)

    assert track.user_id is None and track.prompt is None
    assert await storage.users.get(FORGOTTEN) is None  # not registered again
    assert await _cells_holding(storage, FORGOTTEN) == []
    # A request the user makes afterwards is theirs again.
    later = await storage.jobs.create("compose", {}, user_id=FORGOTTEN)
    again = await storage.tracks.add(new_track(user_id=FORGOTTEN, prompt="new"), job_id=later.id)
    assert again.user_id == FORGOTTEN and again.prompt == "new"


async def test_forgetting_clears_the_prompt_from_regenerated_copies_and_their_requests(storage: Storage) -> None:
    mine = await storage.tracks.add(new_track(user_id=FORGOTTEN, prompt="for my cat"))
    copy = await storage.tracks.add(new_track(user_id=OTHER, prompt="for my cat", parent_id=mine.id, relation="regenerate"))
    copy_of_copy = await storage.tracks.add(new_track(user_id=OTHER, prompt="for my cat", parent_id=copy.id, relation="regenerate"))
    unrelated = await storage.tracks.add(new_track(user_id=OTHER, prompt="for my cat"))  # someone else typed the same words
    variation = await storage.tracks.add(new_track(user_id=OTHER, prompt=None, parent_id=mine.id, relation="variation"))
    pending = await storage.jobs.create("regenerate", {"request": {"prompt": "for my cat"}, "parent_id": mine.id, "relation": "regenerate"}, user_id=OTHER)
    await storage.jobs.start(pending.id)

    report = await storage.users.forget(FORGOTTEN)

    assert report.prompt_copies_cleared == 2
    assert (await storage.tracks.require(copy.id)).prompt is None
    assert (await storage.tracks.require(copy_of_copy.id)).prompt is None
    assert (await storage.tracks.require(unrelated.id)).prompt == "for my cat"
    assert (await storage.tracks.require(variation.id)).user_id == OTHER
    job = await storage.jobs.get(pending.id)
    assert job is not None and job.request["request"]["prompt"] is None and job.user_id == OTHER
    # The other user's Regenerate still in flight stores its track without the prompt it copied.
    late = await storage.tracks.add(new_track(user_id=OTHER, prompt="for my cat", parent_id=mine.id, relation="regenerate"), job_id=pending.id)
    assert late.prompt is None and late.user_id == OTHER
