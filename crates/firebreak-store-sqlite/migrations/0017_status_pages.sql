-- Status pages and their components. A component's services (a JSON array of service ids)
-- drive its status while they have open incidents; `manual_status` is a person's choice,
-- which stands until cleared.
CREATE TABLE status_pages (
    id BLOB PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE status_components (
    id BLOB PRIMARY KEY NOT NULL,
    page_id BLOB NOT NULL REFERENCES status_pages (id),
    name TEXT NOT NULL,
    group_name TEXT NOT NULL,
    position INTEGER NOT NULL,
    service_ids TEXT NOT NULL,
    manual_status TEXT CHECK (manual_status IN ('operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX status_components_page ON status_components (page_id, position);
