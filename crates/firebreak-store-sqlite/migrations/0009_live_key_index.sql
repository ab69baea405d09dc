-- The dedup lookup finds open or suppressed alerts by key: index exactly that, so lookups
-- stay index seeks however many alerts are stored (and at most one live alert per key).
DROP INDEX alerts_open_key;
CREATE UNIQUE INDEX alerts_live_key ON alerts (integration_id, dedup_key) WHERE status IN ('open', 'suppressed');
