-- How each track was made, so Regenerate reproduces it whatever made it (a variation, an extension, a restyle,
-- a re-mood, an uploaded file) and pruned media can be rendered again: a JSON object with the operation, the
-- request as the engine got it (its seed resolved, its prompt left out: the prompt lives in tracks.prompt,
-- which /forget-me clears), the source track or the uploaded piece's tokens, and the edit's parameters.
-- NULL for tracks made before this migration (Regenerate infers their recipe from their columns).

ALTER TABLE tracks ADD COLUMN recipe TEXT;

-- When the track's rendered files (MIDI, MP3, picture) were deleted by the media retention policy; NULL while
-- they are kept. The notes (tokens) and the recipe stay, so the files can be rendered again.
ALTER TABLE tracks ADD COLUMN media_pruned_at TEXT;

-- Interaction tokens are secrets valid for 15 minutes: finished jobs no longer need theirs, so none is kept.
UPDATE jobs SET interaction_token = NULL WHERE status IN ('done', 'failed');
