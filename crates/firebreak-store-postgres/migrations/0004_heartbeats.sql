-- Heartbeats: one per heartbeat integration; a missed deadline opens an alert.
CREATE TABLE heartbeats (
    integration_id UUID PRIMARY KEY REFERENCES integrations (id),
    interval_secs BIGINT NOT NULL,
    grace_secs BIGINT NOT NULL,
    last_beat_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ NOT NULL,
    missed BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX heartbeats_due ON heartbeats (missed, due_at);
