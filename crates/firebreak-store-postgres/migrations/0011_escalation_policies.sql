-- Escalation policies, each kept as its JSON definition (levels, repeat); a service points to
-- the policy that pages for its incidents.
CREATE TABLE escalation_policies (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    definition JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE services ADD COLUMN escalation_policy_id UUID REFERENCES escalation_policies (id);
