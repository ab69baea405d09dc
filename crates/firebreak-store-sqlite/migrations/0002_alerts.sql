-- Services, their integrations, and alerts.
CREATE TABLE services (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    owner_team TEXT NOT NULL,
    runbook_url TEXT NOT NULL,
    tags TEXT NOT NULL,
    auto_resolve INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE integrations (
    id BLOB PRIMARY KEY NOT NULL,
    service_id BLOB NOT NULL REFERENCES services (id),
    kind TEXT NOT NULL CHECK (kind IN ('pagerduty', 'opsgenie', 'alertmanager', 'grafana', 'generic', 'heartbeat')),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    key_rotated_at TEXT
);
CREATE INDEX integrations_service ON integrations (service_id);

CREATE TABLE alerts (
    id BLOB PRIMARY KEY NOT NULL,
    service_id BLOB NOT NULL REFERENCES services (id),
    integration_id BLOB NOT NULL REFERENCES integrations (id),
    incident_id BLOB REFERENCES incidents (id),
    dedup_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'suppressed')),
    summary TEXT NOT NULL,
    source TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('critical', 'error', 'warning', 'info')),
    count INTEGER NOT NULL,
    details TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    acknowledged_at TEXT,
    resolved_at TEXT
);
-- One open alert per key and integration: the dedup rule, enforced.
CREATE UNIQUE INDEX alerts_open_key ON alerts (integration_id, dedup_key) WHERE status = 'open';
CREATE INDEX alerts_status ON alerts (status, id);
CREATE INDEX alerts_incident ON alerts (incident_id, status);

ALTER TABLE incidents ADD COLUMN service_id BLOB REFERENCES services (id);
CREATE INDEX incidents_service ON incidents (service_id, status);
