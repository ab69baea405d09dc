-- Built-in HTTP(S) and TCP checks, their schedule and state, and their history.
CREATE TABLE checks (
    id UUID PRIMARY KEY,
    service_id UUID NOT NULL REFERENCES services (id),
    integration_id UUID NOT NULL REFERENCES integrations (id),
    definition JSONB NOT NULL,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    down BOOLEAN NOT NULL DEFAULT FALSE,
    due_at TIMESTAMPTZ NOT NULL,
    last_checked_at TIMESTAMPTZ,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX checks_due ON checks (due_at);
CREATE TABLE check_results (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id UUID NOT NULL REFERENCES checks (id),
    at TIMESTAMPTZ NOT NULL,
    ok BOOLEAN NOT NULL,
    latency_ms BIGINT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX check_results_check ON check_results (check_id, seq);
