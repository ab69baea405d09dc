-- Merging incidents: the incident a merged one went into, and, on a timeline entry copied
-- from a merged incident, the number of the incident it came from.
ALTER TABLE incidents ADD COLUMN merged_into UUID REFERENCES incidents (id);
ALTER TABLE timeline_entries ADD COLUMN from_number BIGINT;
