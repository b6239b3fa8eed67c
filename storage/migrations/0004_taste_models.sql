-- Per-server taste models (engine.taste): what /retrain learns for one server from that server's ratings.
-- Versioned per server; at most one active per server; rollback walks back through previous_version and,
-- past the first, to none (the shared model as it is).

CREATE TABLE taste_models (
    guild_id         INTEGER NOT NULL,
    version          TEXT NOT NULL,
    path             TEXT NOT NULL,                        -- the taste.pt file
    base_version     TEXT NOT NULL,                        -- the shared model whose latent space it was trained in
    created_at       TEXT NOT NULL,
    metrics          TEXT NOT NULL DEFAULT '{}',           -- JSON object
    active           INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    activated_at     TEXT,
    previous_version TEXT,                                 -- what rollback returns to (NULL: no taste)
    PRIMARY KEY (guild_id, version)
);
CREATE UNIQUE INDEX taste_models_one_active ON taste_models (guild_id) WHERE active = 1;
