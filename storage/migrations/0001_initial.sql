-- Tunesmith's first schema: users, servers, tracks, ratings, jobs and model versions.
-- Times are ISO 8601 UTC text. Discord ids (users, guilds, channels, messages, roles) are integers.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,          -- Discord user id
    display_name  TEXT,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
);

CREATE TABLE servers (
    guild_id             INTEGER PRIMARY KEY,
    default_style        TEXT,
    default_mood         TEXT,
    allowed_styles       TEXT NOT NULL DEFAULT '[]',   -- JSON list; empty means every style
    allowed_channel_ids  TEXT NOT NULL DEFAULT '[]',   -- JSON list; empty means every channel
    cooldown_seconds     REAL,                         -- NULL: the bot's configured default
    admin_role_ids       TEXT NOT NULL DEFAULT '[]',   -- JSON list
    updated_at           TEXT NOT NULL
);

CREATE TABLE model_versions (
    version       TEXT PRIMARY KEY,
    path          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    metrics       TEXT NOT NULL DEFAULT '{}',           -- JSON object
    active        INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    activated_at  TEXT,
    previous_version TEXT REFERENCES model_versions (version) ON DELETE SET NULL  -- what rollback returns to
);
-- At most one active version, enforced by the database itself.
CREATE UNIQUE INDEX model_versions_one_active ON model_versions (active) WHERE active = 1;

CREATE TABLE tracks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id       INTEGER,                           -- NULL: made outside a server (CLI, DMs)
    channel_id     INTEGER,
    user_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,  -- NULL once anonymised
    style          TEXT NOT NULL,
    mood           TEXT NOT NULL,
    key            TEXT NOT NULL,
    tempo          REAL NOT NULL,
    bars           INTEGER NOT NULL,
    seed           INTEGER NOT NULL,
    sampler        TEXT NOT NULL,
    prompt         TEXT,
    model_version  TEXT NOT NULL,
    latent         BLOB,                              -- float32 little-endian
    features       TEXT NOT NULL DEFAULT '{}',        -- JSON object of numbers
    parent_id      INTEGER REFERENCES tracks (id) ON DELETE SET NULL,
    relation       TEXT CHECK (relation IN ('variation', 'extend', 'restyle', 'remood', 'regenerate')),
    midi_path      TEXT,                              -- relative to the media folder
    mp3_path       TEXT,
    png_path       TEXT,
    message_id     INTEGER,
    created_at     TEXT NOT NULL,
    CHECK ((parent_id IS NULL) = (relation IS NULL))
);
CREATE INDEX tracks_guild ON tracks (guild_id, created_at);
CREATE INDEX tracks_user ON tracks (user_id);
CREATE INDEX tracks_parent ON tracks (parent_id);
CREATE INDEX tracks_message ON tracks (message_id);

CREATE TABLE ratings (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_id    INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    score       INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, track_id)
) WITHOUT ROWID;

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT NOT NULL,                  -- 'compose', 'variation', 'retrain', ...
    guild_id          INTEGER,
    channel_id        INTEGER,
    user_id           INTEGER REFERENCES users (id) ON DELETE CASCADE,
    application_id    INTEGER,                        -- with the token: answers the interaction later
    interaction_token TEXT,
    message_id        INTEGER,
    request           TEXT NOT NULL DEFAULT '{}',     -- JSON
    status            TEXT NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'done', 'failed', 'interrupted')),
    error             TEXT,
    track_id          INTEGER REFERENCES tracks (id) ON DELETE SET NULL,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT
);
CREATE INDEX jobs_status ON jobs (status);
CREATE INDEX jobs_user ON jobs (user_id);
