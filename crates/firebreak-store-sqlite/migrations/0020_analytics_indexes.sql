-- What analytics read, as index-only scans: each incident's first alert, the period's pages,
-- and the (few) drills to leave out. (The period's alerts are read through alerts_first_seen: an
-- index holding their counts would be rewritten by every duplicate event.)
CREATE INDEX alerts_incident_first_seen ON alerts (incident_id, first_seen_at);
DROP INDEX notifications_created;
CREATE INDEX notifications_pages ON notifications (created_at, user_id, incident_id) WHERE kind = 'page';
CREATE INDEX incidents_drill ON incidents (id) WHERE drill = 1;
