-- Playbooks attached to incidents (with the version they ran) and their checklists.
CREATE TABLE incident_playbooks (
    incident_id BLOB PRIMARY KEY NOT NULL REFERENCES incidents (id),
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    version TEXT NOT NULL,
    attached_at TEXT NOT NULL
);
CREATE TABLE checklist_items (
    incident_id BLOB NOT NULL REFERENCES incidents (id),
    position INTEGER NOT NULL,
    phase TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT,
    due_at TEXT,
    state TEXT NOT NULL,
    done_by BLOB,
    done_at TEXT,
    PRIMARY KEY (incident_id, position)
);
CREATE INDEX checklist_items_due ON checklist_items (due_at) WHERE state = 'open';
