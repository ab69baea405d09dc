-- Services, their integrations, and alerts.
CREATE TABLE services (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    owner_team TEXT NOT NULL,
    runbook_url TEXT NOT NULL,
    tags JSONB NOT NULL,
    auto_resolve BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE integrations (
    id UUID PRIMARY KEY,
    service_id UUID NOT NULL REFERENCES services (id),
    kind TEXT NOT NULL CHECK (kind IN ('pagerduty', 'opsgenie', 'alertmanager', 'grafana', 'generic', 'heartbeat')),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    key_rotated_at TIMESTAMPTZ
);
CREATE INDEX integrations_service ON integrations (service_id);

CREATE TABLE alerts (
    id UUID PRIMARY KEY,
    service_id UUID NOT NULL REFERENCES services (id),
    integration_id UUID NOT NULL REFERENCES integrations (id),
    incident_id UUID REFERENCES incidents (id),
    dedup_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'suppressed')),
    summary TEXT NOT NULL,
    source TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('critical', 'error', 'warning', 'info')),
    count BIGINT NOT NULL,
    details JSONB NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    acknowledged_at TIMESTAMPTZ,
    resolved_at TIMESTAMPTZ
);
-- One open alert per key and integration: the dedup rule, enforced.
CREATE UNIQUE INDEX alerts_open_key ON alerts (integration_id, dedup_key) WHERE status = 'open';
CREATE INDEX alerts_status ON alerts (status, id);
CREATE INDEX alerts_incident ON alerts (incident_id, status);

ALTER TABLE incidents ADD COLUMN service_id UUID REFERENCES services (id);
CREATE INDEX incidents_service ON incidents (service_id, status);
