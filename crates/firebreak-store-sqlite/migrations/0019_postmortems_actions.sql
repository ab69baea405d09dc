-- Post-incident review: postmortems with their revisions and reviewers, timeline entries
-- starred as key events, action items, postmortem reminders, and what analytics reads
-- (first-cycle times that a reopen does not reset, the drill flag, and indexes by period).
ALTER TABLE incidents ADD COLUMN drill INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN first_acknowledged_at TEXT;
ALTER TABLE incidents ADD COLUMN first_contained_at TEXT;
ALTER TABLE incidents ADD COLUMN first_resolved_at TEXT;
ALTER TABLE incidents ADD COLUMN reopen_count INTEGER NOT NULL DEFAULT 0;
UPDATE incidents SET first_acknowledged_at = acknowledged_at, first_contained_at = contained_at, first_resolved_at = resolved_at;
CREATE INDEX incidents_detected ON incidents (detected_at);
CREATE INDEX incidents_resolved ON incidents (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX alerts_first_seen ON alerts (first_seen_at);
CREATE INDEX notifications_created ON notifications (created_at) WHERE kind = 'page';

CREATE TABLE postmortems (
    id BLOB PRIMARY KEY NOT NULL,
    incident_id BLOB NOT NULL UNIQUE REFERENCES incidents (id),
    template TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'in_review', 'published')),
    revision INTEGER NOT NULL,
    revision_hash TEXT NOT NULL,
    impact_started_at TEXT,
    created_by BLOB REFERENCES users (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    published_at TEXT
);

CREATE TABLE postmortem_revisions (
    postmortem_id BLOB NOT NULL REFERENCES postmortems (id),
    number INTEGER NOT NULL,
    hash TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    author_id BLOB,
    author_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (postmortem_id, number)
);

CREATE TABLE postmortem_reviewers (
    postmortem_id BLOB NOT NULL REFERENCES postmortems (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    signed_off_at TEXT,
    signed_revision INTEGER,
    signed_hash TEXT,
    PRIMARY KEY (postmortem_id, user_id)
);

CREATE TABLE postmortem_reminders (
    incident_id BLOB PRIMARY KEY NOT NULL REFERENCES incidents (id),
    reminded_at TEXT NOT NULL
);

CREATE TABLE key_events (
    seq INTEGER PRIMARY KEY NOT NULL REFERENCES timeline_entries (seq),
    incident_id BLOB NOT NULL REFERENCES incidents (id),
    starred_by BLOB,
    starred_at TEXT NOT NULL
);
CREATE INDEX key_events_incident ON key_events (incident_id);

CREATE TABLE action_items (
    id BLOB PRIMARY KEY NOT NULL,
    number INTEGER NOT NULL UNIQUE,
    incident_id BLOB NOT NULL REFERENCES incidents (id),
    from_postmortem INTEGER NOT NULL DEFAULT 0,
    title TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('task', 'procedure_change')),
    owner_id BLOB REFERENCES users (id),
    due_on TEXT,
    priority TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done', 'wont_do')),
    link TEXT,
    procedure_file TEXT,
    created_by BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    reminded_on TEXT
);
CREATE INDEX action_items_incident ON action_items (incident_id, number);
CREATE INDEX action_items_open ON action_items (due_on) WHERE status IN ('open', 'in_progress');
CREATE INDEX action_items_created ON action_items (created_at);
INSERT INTO counters (name, value) VALUES ('action_item_number', 0);

-- The outbox says what a message is: a stakeholder or subscriber message, or an action item
-- event for trackers.
ALTER TABLE stakeholder_messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'update';
