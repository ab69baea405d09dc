-- Per-service grouping of alerts into incidents, and the group an incident collects.
ALTER TABLE services ADD COLUMN grouping JSONB NOT NULL DEFAULT '{"by":"service"}'::jsonb;
ALTER TABLE incidents ADD COLUMN group_key TEXT;
