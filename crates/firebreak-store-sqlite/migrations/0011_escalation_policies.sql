-- Escalation policies, each kept as its JSON definition (levels, repeat); a service points to
-- the policy that pages for its incidents.
CREATE TABLE escalation_policies (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
ALTER TABLE services ADD COLUMN escalation_policy_id BLOB REFERENCES escalation_policies (id);
