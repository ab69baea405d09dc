-- Built-in HTTP(S) and TCP checks, their schedule and state, and their history.
CREATE TABLE checks (
    id BLOB PRIMARY KEY NOT NULL,
    service_id BLOB NOT NULL REFERENCES services (id),
    integration_id BLOB NOT NULL REFERENCES integrations (id),
    definition TEXT NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    down INTEGER NOT NULL DEFAULT 0,
    due_at TEXT NOT NULL,
    last_checked_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX checks_due ON checks (due_at);
CREATE TABLE check_results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    check_id BLOB NOT NULL REFERENCES checks (id),
    at TEXT NOT NULL,
    ok INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX check_results_check ON check_results (check_id, seq);
