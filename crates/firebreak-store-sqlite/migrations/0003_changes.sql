-- Changes (deploys, config changes) recorded against services, for investigation.
CREATE TABLE changes (
    id BLOB PRIMARY KEY NOT NULL,
    service_id BLOB NOT NULL REFERENCES services (id),
    integration_id BLOB NOT NULL REFERENCES integrations (id),
    summary TEXT NOT NULL,
    source TEXT NOT NULL,
    details TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX changes_service ON changes (service_id, occurred_at);
