-- Changes (deploys, config changes) recorded against services, for investigation.
CREATE TABLE changes (
    id UUID PRIMARY KEY,
    service_id UUID NOT NULL REFERENCES services (id),
    integration_id UUID NOT NULL REFERENCES integrations (id),
    summary TEXT NOT NULL,
    source TEXT NOT NULL,
    details JSONB NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX changes_service ON changes (service_id, occurred_at);
