-- Per-service grouping of alerts into incidents, and the group an incident collects.
ALTER TABLE services ADD COLUMN grouping TEXT NOT NULL DEFAULT '{"by":"service"}';
ALTER TABLE incidents ADD COLUMN group_key TEXT;
