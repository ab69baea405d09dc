-- Classification rules and maintenance windows, each kept as its JSON definition.
CREATE TABLE rules (
    id UUID PRIMARY KEY,
    service_id UUID REFERENCES services (id),
    position BIGINT NOT NULL,
    definition JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE maintenance_windows (
    id UUID PRIMARY KEY,
    service_id UUID REFERENCES services (id),
    definition JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
