-- The form each track was composed in ("AABA", "12-bar blues", "verse-chorus (POP909)"), from its plan.

ALTER TABLE tracks ADD COLUMN form TEXT;
