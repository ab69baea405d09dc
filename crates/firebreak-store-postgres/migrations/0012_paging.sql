-- Paging: how people are reached (contact methods, notification rules), the escalation of
-- each incident (due work), the notification outbox, replay protection for inbound
-- callbacks, calendar feed tokens, per-installation secrets and on-call hand-offs.
CREATE TABLE contact_methods (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL,
    secret TEXT,
    verified_at TIMESTAMPTZ,
    code_hash TEXT,
    code_expires_at TIMESTAMPTZ,
    code_attempts BIGINT NOT NULL DEFAULT 0,
    last_sent_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, kind, address)
);
CREATE INDEX contact_methods_address ON contact_methods (kind, address);
CREATE TABLE notification_rules (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    contact_method_id UUID NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
    delay_minutes BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (contact_method_id, delay_minutes)
);
CREATE INDEX notification_rules_user ON notification_rules (user_id);
CREATE TABLE escalations (
    incident_id UUID PRIMARY KEY REFERENCES incidents (id),
    policy_id UUID NOT NULL,
    generation BIGINT NOT NULL DEFAULT 0,
    started_at TIMESTAMPTZ NOT NULL,
    last_step BIGINT,
    last_due_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ,
    state TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX escalations_due ON escalations (due_at) WHERE due_at IS NOT NULL;
CREATE TABLE notifications (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    user_id UUID NOT NULL REFERENCES users (id),
    contact_method_id UUID NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
    incident_id UUID REFERENCES incidents (id),
    payload JSONB NOT NULL,
    status TEXT NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    provider TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ
);
CREATE INDEX notifications_due ON notifications (due_at) WHERE status = 'pending';
CREATE INDEX notifications_incident ON notifications (incident_id);
CREATE INDEX notifications_user ON notifications (user_id, created_at);
CREATE TABLE callback_nonces (
    nonce TEXT PRIMARY KEY,
    seen_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE calendar_feeds (
    id UUID PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    schedule_id UUID REFERENCES schedules (id) ON DELETE CASCADE,
    user_id UUID REFERENCES users (id),
    created_by UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE oncall_handoffs (
    schedule_id UUID PRIMARY KEY REFERENCES schedules (id) ON DELETE CASCADE,
    user_id UUID,
    changed_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE users ADD COLUMN handoff_notifications BOOLEAN NOT NULL DEFAULT FALSE;
