-- Keep each track's token arrays (engine.tokens layout, stored as an .npz blob) so ratings can be
-- exported with the exact sequences the model produced, and index ratings by track for the recommender.

ALTER TABLE tracks ADD COLUMN tokens BLOB;

CREATE INDEX ratings_track ON ratings (track_id);
