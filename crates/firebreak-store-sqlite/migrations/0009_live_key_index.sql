-- The dedup lookup finds open or suppressed alerts by key. At most one live alert per key
-- (the rule, enforced), and a plain index over exactly the lookup's columns so the planner
-- always seeks by key instead of walking every open alert.
DROP INDEX alerts_open_key;
CREATE UNIQUE INDEX alerts_live_key ON alerts (integration_id, dedup_key) WHERE status IN ('open', 'suppressed');
CREATE INDEX alerts_key_lookup ON alerts (integration_id, dedup_key, status);
