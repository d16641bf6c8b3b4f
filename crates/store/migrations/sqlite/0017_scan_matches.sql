-- Scan matches (issue 8): every scan or lookup that matched a bank, with its verdict and the
-- matches, so that a platform's moderators can review those a "review" bank flags, and so
-- that matches per bank can be counted. Decisions are log entries.
CREATE TABLE scan_matches (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    source TEXT NOT NULL,
    verdict TEXT NOT NULL,
    account TEXT NOT NULL,
    sha256 TEXT,
    content_type TEXT,
    matches TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    reason TEXT
);
CREATE INDEX scan_matches_status ON scan_matches (status, at);
CREATE TABLE scan_match_banks (
    match_id TEXT NOT NULL REFERENCES scan_matches (id),
    bank TEXT NOT NULL,
    PRIMARY KEY (match_id, bank)
);
CREATE INDEX scan_match_banks_bank ON scan_match_banks (bank);
