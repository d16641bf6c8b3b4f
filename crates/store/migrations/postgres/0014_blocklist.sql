-- The authority's blocklist (issue 7): domains (with or without their subdomains) for ISPs'
-- resolvers, and URLs for gates and search engines. One active entry per target; every change
-- bumps the serial that the RPZ feed's SOA carries.
CREATE TABLE blocklist (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    subdomains BIGINT NOT NULL,
    action TEXT,
    legal_basis TEXT NOT NULL,
    reference TEXT NOT NULL,
    orders TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    next_review BIGINT NOT NULL,
    state TEXT NOT NULL,
    ended_at BIGINT,
    ended_by TEXT,
    end_reason TEXT
);
CREATE UNIQUE INDEX blocklist_active ON blocklist (kind, target) WHERE state = 'active';
CREATE TABLE blocklist_reviews (
    entry_id TEXT NOT NULL REFERENCES blocklist (id),
    at BIGINT NOT NULL,
    by_account TEXT NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE blocklist_serial (id BIGINT PRIMARY KEY CHECK (id = 1), serial BIGINT NOT NULL);
INSERT INTO blocklist_serial (id, serial) VALUES (1, 1);
