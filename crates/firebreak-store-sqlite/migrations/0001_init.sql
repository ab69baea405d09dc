-- Firebreak schema, SQLite. UUIDs are 16-byte BLOBs, instants RFC 3339 TEXT in UTC.
CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'responder', 'viewer')),
    password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    last_failed_login_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('incident_number', 0);

CREATE TABLE incidents (
    id BLOB PRIMARY KEY NOT NULL,
    number INTEGER NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    kind TEXT NOT NULL CHECK (kind IN ('outage', 'degradation', 'security', 'other')),
    status TEXT NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'contained', 'resolved', 'closed')),
    services TEXT NOT NULL,
    tags TEXT NOT NULL,
    commander_id BLOB REFERENCES users (id),
    communications_id BLOB REFERENCES users (id),
    scribe_id BLOB REFERENCES users (id),
    created_by BLOB REFERENCES users (id),
    detected_at TEXT NOT NULL,
    acknowledged_at TEXT,
    contained_at TEXT,
    resolved_at TEXT,
    closed_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX incidents_status ON incidents (status, number);

CREATE TABLE timeline_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BLOB NOT NULL REFERENCES incidents (id),
    at TEXT NOT NULL,
    actor_id BLOB,
    actor_name TEXT NOT NULL,
    via TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX timeline_incident ON timeline_entries (incident_id, seq);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY NOT NULL,
    at TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    via TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
