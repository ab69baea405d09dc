-- When each incident's first alert was first seen (the start of its detection time), kept by the
-- store as alerts join, move and merge, so analytics read it with the incident instead of
-- looking it up among the alerts for every incident of the period.
ALTER TABLE incidents ADD COLUMN first_alert_at TEXT;
UPDATE incidents SET first_alert_at = (SELECT MIN(a.first_seen_at) FROM alerts a WHERE a.incident_id = incidents.id);

-- The alerts' noise by integration and key, for analytics, without reading the alerts' rows or
-- sorting them: resolved alerts only, whose counts no longer change (a duplicate event updates an
-- open alert, so an index holding every alert's count would be rewritten by each one).
CREATE INDEX alerts_resolved_noise ON alerts (integration_id, dedup_key, first_seen_at, count, service_id) WHERE status = 'resolved';
