-- Training runs (/retrain start and /retrain base, bot.registry): each run is recorded when it starts, so a run
-- the bot never saw end (the bot was killed, the trainer died) is found and closed at the next start-up, and
-- /retrain status can say how the last one ended. At most one runs at a time on the whole bot.
-- (0005 belongs to another change; migrations are applied in order and must be consecutive.)

CREATE TABLE training_runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT NOT NULL CHECK (kind IN ('taste', 'base')),  -- a server's taste, or the shared model
    guild_id          INTEGER,                                        -- the server whose taste (NULL: the shared model)
    started_by        INTEGER NOT NULL,
    started_at        TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'finished', 'failed', 'cancelled', 'interrupted')),
    ended_at          TEXT,
    pid               INTEGER,                                        -- the trainer process while it runs
    out_dir           TEXT NOT NULL,
    base_version      TEXT,                                           -- the shared model it started from
    progress          TEXT NOT NULL DEFAULT '{}',                     -- the last progress event (JSON)
    result            TEXT,                                           -- the trainer's finished event (JSON), once written
    candidate_version TEXT,                                           -- the version it registered, if any
    activated         INTEGER NOT NULL DEFAULT 0 CHECK (activated IN (0, 1)),
    outcome           TEXT,                                           -- how it ended, in words
    channel_id        INTEGER,                                        -- where its progress message is
    message_id        INTEGER
);
CREATE UNIQUE INDEX training_runs_one_running ON training_runs (status) WHERE status = 'running';
CREATE INDEX training_runs_by_guild ON training_runs (guild_id, id);
