-- Heartbeats: one per heartbeat integration; a missed deadline opens an alert.
CREATE TABLE heartbeats (
    integration_id BLOB PRIMARY KEY NOT NULL REFERENCES integrations (id),
    interval_secs INTEGER NOT NULL,
    grace_secs INTEGER NOT NULL,
    last_beat_at TEXT,
    due_at TEXT NOT NULL,
    missed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX heartbeats_due ON heartbeats (missed, due_at);
