-- Classification rules and maintenance windows, each kept as its JSON definition.
CREATE TABLE rules (
    id BLOB PRIMARY KEY NOT NULL,
    service_id BLOB REFERENCES services (id),
    position INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE maintenance_windows (
    id BLOB PRIMARY KEY NOT NULL,
    service_id BLOB REFERENCES services (id),
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL
);
