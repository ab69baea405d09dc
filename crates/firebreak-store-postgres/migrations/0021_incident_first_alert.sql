-- When each incident's first alert was first seen (the start of its detection time), kept by the
-- store as alerts join, move and merge, so analytics read it with the incident instead of
-- looking it up among the alerts for every incident of the period.
ALTER TABLE incidents ADD COLUMN first_alert_at TIMESTAMPTZ;
UPDATE incidents SET first_alert_at = f.first_seen_at
FROM (SELECT incident_id, MIN(first_seen_at) AS first_seen_at FROM alerts WHERE incident_id IS NOT NULL GROUP BY incident_id) f
WHERE f.incident_id = incidents.id;
