-- Paging: how people are reached (contact methods, notification rules), the escalation of
-- each incident (due work), the notification outbox, replay protection for inbound
-- callbacks, calendar feed tokens, per-installation secrets and on-call hand-offs.
CREATE TABLE contact_methods (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL,
    secret TEXT,
    verified_at TEXT,
    code_hash TEXT,
    code_expires_at TEXT,
    code_attempts INTEGER NOT NULL DEFAULT 0,
    last_sent_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, kind, address)
);
CREATE INDEX contact_methods_address ON contact_methods (kind, address);
CREATE TABLE notification_rules (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id),
    contact_method_id BLOB NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
    delay_minutes INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (contact_method_id, delay_minutes)
);
CREATE INDEX notification_rules_user ON notification_rules (user_id);
CREATE TABLE escalations (
    incident_id BLOB PRIMARY KEY REFERENCES incidents (id),
    policy_id BLOB NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    last_step INTEGER,
    last_due_at TEXT,
    due_at TEXT,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX escalations_due ON escalations (due_at) WHERE due_at IS NOT NULL;
CREATE TABLE notifications (
    id BLOB PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    user_id BLOB NOT NULL REFERENCES users (id),
    contact_method_id BLOB NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
    incident_id BLOB REFERENCES incidents (id),
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    due_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    provider TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX notifications_due ON notifications (due_at) WHERE status = 'pending';
CREATE INDEX notifications_incident ON notifications (incident_id);
CREATE INDEX notifications_user ON notifications (user_id, created_at);
CREATE TABLE callback_nonces (
    nonce TEXT PRIMARY KEY NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE TABLE calendar_feeds (
    id BLOB PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    schedule_id BLOB REFERENCES schedules (id) ON DELETE CASCADE,
    user_id BLOB REFERENCES users (id),
    created_by BLOB NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE oncall_handoffs (
    schedule_id BLOB PRIMARY KEY REFERENCES schedules (id) ON DELETE CASCADE,
    user_id BLOB,
    changed_at TEXT NOT NULL
);
ALTER TABLE users ADD COLUMN handoff_notifications INTEGER NOT NULL DEFAULT 0;
