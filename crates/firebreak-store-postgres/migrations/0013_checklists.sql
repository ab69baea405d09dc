-- Playbooks attached to incidents (with the version they ran) and their checklists.
CREATE TABLE incident_playbooks (
    incident_id UUID PRIMARY KEY REFERENCES incidents (id),
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    version TEXT NOT NULL,
    attached_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE checklist_items (
    incident_id UUID NOT NULL REFERENCES incidents (id),
    position BIGINT NOT NULL,
    phase TEXT NOT NULL,
    title TEXT NOT NULL,
    kind JSONB NOT NULL,
    role TEXT,
    due_at TIMESTAMPTZ,
    state TEXT NOT NULL,
    done_by UUID,
    done_at TIMESTAMPTZ,
    PRIMARY KEY (incident_id, position)
);
CREATE INDEX checklist_items_due ON checklist_items (due_at) WHERE state = 'open';
