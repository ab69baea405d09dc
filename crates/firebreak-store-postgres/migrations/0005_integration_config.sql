-- Per-integration settings (the generic webhook's field mapping).
ALTER TABLE integrations ADD COLUMN config JSONB NOT NULL DEFAULT '{}'::jsonb;
