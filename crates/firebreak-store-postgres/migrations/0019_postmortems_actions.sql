-- Post-incident review: postmortems with their revisions and reviewers, timeline entries
-- starred as key events, action items, postmortem reminders, and what analytics reads
-- (first-cycle times that a reopen does not reset, the drill flag, and indexes by period).
ALTER TABLE incidents ADD COLUMN drill BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE incidents ADD COLUMN first_acknowledged_at TIMESTAMPTZ;
ALTER TABLE incidents ADD COLUMN first_contained_at TIMESTAMPTZ;
ALTER TABLE incidents ADD COLUMN first_resolved_at TIMESTAMPTZ;
ALTER TABLE incidents ADD COLUMN reopen_count BIGINT NOT NULL DEFAULT 0;
UPDATE incidents SET first_acknowledged_at = acknowledged_at, first_contained_at = contained_at, first_resolved_at = resolved_at;
CREATE INDEX incidents_detected ON incidents (detected_at);
CREATE INDEX incidents_resolved ON incidents (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX alerts_first_seen ON alerts (first_seen_at);
CREATE INDEX notifications_created ON notifications (created_at) WHERE kind = 'page';

CREATE TABLE postmortems (
    id UUID PRIMARY KEY NOT NULL,
    incident_id UUID NOT NULL UNIQUE REFERENCES incidents (id),
    template TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'in_review', 'published')),
    revision BIGINT NOT NULL,
    revision_hash TEXT NOT NULL,
    impact_started_at TIMESTAMPTZ,
    created_by UUID REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);

CREATE TABLE postmortem_revisions (
    postmortem_id UUID NOT NULL REFERENCES postmortems (id),
    number BIGINT NOT NULL,
    hash TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    author_id UUID,
    author_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (postmortem_id, number)
);

CREATE TABLE postmortem_reviewers (
    postmortem_id UUID NOT NULL REFERENCES postmortems (id),
    user_id UUID NOT NULL REFERENCES users (id),
    signed_off_at TIMESTAMPTZ,
    signed_revision BIGINT,
    signed_hash TEXT,
    PRIMARY KEY (postmortem_id, user_id)
);

CREATE TABLE postmortem_reminders (
    incident_id UUID PRIMARY KEY NOT NULL REFERENCES incidents (id),
    reminded_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE key_events (
    seq BIGINT PRIMARY KEY NOT NULL REFERENCES timeline_entries (seq),
    incident_id UUID NOT NULL REFERENCES incidents (id),
    starred_by UUID,
    starred_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX key_events_incident ON key_events (incident_id);

CREATE TABLE action_items (
    id UUID PRIMARY KEY NOT NULL,
    number BIGINT NOT NULL UNIQUE,
    incident_id UUID NOT NULL REFERENCES incidents (id),
    from_postmortem BOOLEAN NOT NULL DEFAULT FALSE,
    title TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('task', 'procedure_change')),
    owner_id UUID REFERENCES users (id),
    due_on DATE,
    priority TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done', 'wont_do')),
    link TEXT,
    procedure_file TEXT,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ,
    reminded_on DATE
);
CREATE INDEX action_items_incident ON action_items (incident_id, number);
CREATE INDEX action_items_open ON action_items (due_on) WHERE status IN ('open', 'in_progress');
CREATE INDEX action_items_created ON action_items (created_at);
INSERT INTO counters (name, value) VALUES ('action_item_number', 0);

-- The outbox says what a message is: a stakeholder or subscriber message, or an action item
-- event for trackers.
ALTER TABLE stakeholder_messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'update';
