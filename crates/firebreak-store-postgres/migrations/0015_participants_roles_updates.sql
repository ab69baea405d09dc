-- Restricted incidents and the people who take part in each; roles beyond the three built-in
-- ones (operations lead and a team's own, as a JSON object of role name to user id); when
-- the next stakeholder update of an incident is due.
ALTER TABLE incidents ADD COLUMN restricted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE incidents ADD COLUMN other_roles JSONB NOT NULL DEFAULT '{}';

CREATE TABLE incident_participants (
    incident_id UUID NOT NULL REFERENCES incidents (id),
    user_id UUID NOT NULL REFERENCES users (id),
    since TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);
CREATE INDEX incident_participants_user ON incident_participants (user_id, incident_id);

-- Everyone who already acted on an incident, declared it or holds a role takes part in it.
INSERT INTO incident_participants (incident_id, user_id, since)
    SELECT t.incident_id, t.actor_id, MIN(t.at) FROM timeline_entries t
    WHERE t.actor_id IN (SELECT id FROM users) GROUP BY t.incident_id, t.actor_id
    ON CONFLICT DO NOTHING;
INSERT INTO incident_participants (incident_id, user_id, since)
    SELECT id, created_by, detected_at FROM incidents WHERE created_by IS NOT NULL ON CONFLICT DO NOTHING;
INSERT INTO incident_participants (incident_id, user_id, since)
    SELECT id, commander_id, updated_at FROM incidents WHERE commander_id IS NOT NULL ON CONFLICT DO NOTHING;
INSERT INTO incident_participants (incident_id, user_id, since)
    SELECT id, communications_id, updated_at FROM incidents WHERE communications_id IS NOT NULL ON CONFLICT DO NOTHING;
INSERT INTO incident_participants (incident_id, user_id, since)
    SELECT id, scribe_id, updated_at FROM incidents WHERE scribe_id IS NOT NULL ON CONFLICT DO NOTHING;

CREATE TABLE update_cadence (
    incident_id UUID PRIMARY KEY REFERENCES incidents (id),
    due_at TIMESTAMPTZ NOT NULL,
    reminded_at TIMESTAMPTZ,
    escalated_at TIMESTAMPTZ
);
CREATE INDEX update_cadence_due ON update_cadence (due_at);

-- Stakeholder emails (updates and group notifications to addresses), sent by the engine.
CREATE TABLE stakeholder_messages (
    id UUID PRIMARY KEY,
    incident_id UUID NOT NULL REFERENCES incidents (id),
    address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    due_at TIMESTAMPTZ NOT NULL,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ
);
CREATE INDEX stakeholder_messages_due ON stakeholder_messages (due_at) WHERE status = 'pending';

-- One-off notices already given for an incident (a stakeholder group told), so replicas and
-- restarts give each once.
CREATE TABLE incident_notices (
    incident_id UUID NOT NULL REFERENCES incidents (id),
    notice TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (incident_id, notice)
);
CREATE INDEX incidents_updated ON incidents (updated_at);
