-- What a status page tells its readers beyond component statuses: public incidents and
-- scheduled maintenance ("notices") with their updates (drafts until published), each
-- component's status history (for the uptime bars), the page's look and access, and its
-- subscribers. Subscriber messages go through the stakeholder outbox, which now also carries
-- messages that belong to no incident and webhook deliveries.
ALTER TABLE status_pages ADD COLUMN branding JSONB NOT NULL DEFAULT '{}';
ALTER TABLE status_pages ADD COLUMN custom_domain TEXT;
ALTER TABLE status_pages ADD COLUMN token_hash TEXT;
CREATE UNIQUE INDEX status_pages_domain ON status_pages (custom_domain);

CREATE TABLE status_notices (
    id UUID PRIMARY KEY NOT NULL,
    page_id UUID NOT NULL REFERENCES status_pages (id),
    kind TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
    incident_id UUID REFERENCES incidents (id),
    title TEXT NOT NULL,
    impact TEXT NOT NULL,
    status TEXT NOT NULL,
    component_ids JSONB NOT NULL,
    scheduled_for TIMESTAMPTZ,
    scheduled_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ
);
CREATE INDEX status_notices_page ON status_notices (page_id, created_at);
CREATE UNIQUE INDEX status_notices_incident ON status_notices (page_id, incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX status_notices_due ON status_notices (scheduled_for) WHERE kind = 'maintenance' AND resolved_at IS NULL;

CREATE TABLE status_updates (
    id UUID PRIMARY KEY NOT NULL,
    notice_id UUID NOT NULL REFERENCES status_notices (id),
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX status_updates_notice ON status_updates (notice_id, created_at);

CREATE TABLE status_history (
    id UUID PRIMARY KEY NOT NULL,
    component_id UUID NOT NULL REFERENCES status_components (id),
    at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX status_history_component ON status_history (component_id, at);

CREATE TABLE status_subscribers (
    id UUID PRIMARY KEY NOT NULL,
    page_id UUID NOT NULL REFERENCES status_pages (id),
    kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
    address TEXT NOT NULL,
    component_ids JSONB NOT NULL,
    secret TEXT,
    confirmed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX status_subscribers_address ON status_subscribers (page_id, kind, address);

-- The outbox: incident_id becomes optional, and a message says how it goes.
ALTER TABLE stakeholder_messages ALTER COLUMN incident_id DROP NOT NULL;
ALTER TABLE stakeholder_messages ADD COLUMN channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'webhook'));
ALTER TABLE stakeholder_messages ADD COLUMN secret TEXT;
ALTER TABLE stakeholder_messages ADD COLUMN unsubscribe_url TEXT;
ALTER TABLE stakeholder_messages ADD COLUMN subscriber_id UUID REFERENCES status_subscribers (id) ON DELETE CASCADE;
CREATE INDEX stakeholder_messages_subscriber ON stakeholder_messages (subscriber_id);
