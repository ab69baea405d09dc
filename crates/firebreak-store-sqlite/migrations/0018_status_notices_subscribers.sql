-- What a status page tells its readers beyond component statuses: public incidents and
-- scheduled maintenance ("notices") with their updates (drafts until published), each
-- component's status history (for the uptime bars), the page's look and access, and its
-- subscribers. Subscriber messages go through the stakeholder outbox, which now also carries
-- messages that belong to no incident and webhook deliveries.
ALTER TABLE status_pages ADD COLUMN branding TEXT NOT NULL DEFAULT '{}';
ALTER TABLE status_pages ADD COLUMN custom_domain TEXT;
ALTER TABLE status_pages ADD COLUMN token_hash TEXT;
CREATE UNIQUE INDEX status_pages_domain ON status_pages (custom_domain);

CREATE TABLE status_notices (
    id BLOB PRIMARY KEY NOT NULL,
    page_id BLOB NOT NULL REFERENCES status_pages (id),
    kind TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
    incident_id BLOB REFERENCES incidents (id),
    title TEXT NOT NULL,
    impact TEXT NOT NULL,
    status TEXT NOT NULL,
    component_ids TEXT NOT NULL,
    scheduled_for TEXT,
    scheduled_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX status_notices_page ON status_notices (page_id, created_at);
CREATE UNIQUE INDEX status_notices_incident ON status_notices (page_id, incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX status_notices_due ON status_notices (scheduled_for) WHERE kind = 'maintenance' AND resolved_at IS NULL;

CREATE TABLE status_updates (
    id BLOB PRIMARY KEY NOT NULL,
    notice_id BLOB NOT NULL REFERENCES status_notices (id),
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    published_at TEXT
);
CREATE INDEX status_updates_notice ON status_updates (notice_id, created_at);

CREATE TABLE status_history (
    id BLOB PRIMARY KEY NOT NULL,
    component_id BLOB NOT NULL REFERENCES status_components (id),
    at TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX status_history_component ON status_history (component_id, at);

CREATE TABLE status_subscribers (
    id BLOB PRIMARY KEY NOT NULL,
    page_id BLOB NOT NULL REFERENCES status_pages (id),
    kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
    address TEXT NOT NULL,
    component_ids TEXT NOT NULL,
    secret TEXT,
    confirmed_at TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX status_subscribers_address ON status_subscribers (page_id, kind, address);

-- The outbox: incident_id becomes optional, and a message says how it goes.
CREATE TABLE stakeholder_messages_new (
    id BLOB PRIMARY KEY NOT NULL,
    incident_id BLOB REFERENCES incidents (id),
    address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'webhook')),
    secret TEXT,
    unsubscribe_url TEXT,
    subscriber_id BLOB REFERENCES status_subscribers (id) ON DELETE CASCADE
);
INSERT INTO stakeholder_messages_new (id, incident_id, address, subject, body, status, attempts, due_at, last_error, created_at, sent_at)
    SELECT id, incident_id, address, subject, body, status, attempts, due_at, last_error, created_at, sent_at FROM stakeholder_messages;
DROP TABLE stakeholder_messages;
ALTER TABLE stakeholder_messages_new RENAME TO stakeholder_messages;
CREATE INDEX stakeholder_messages_due ON stakeholder_messages (due_at) WHERE status = 'pending';
CREATE INDEX stakeholder_messages_subscriber ON stakeholder_messages (subscriber_id);
