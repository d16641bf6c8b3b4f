-- Oversight (issue 7): the qualified person's recommendations on blocklist entries (lift, amend,
-- keep) with reasons, and the authority's answers.
CREATE TABLE recommendations (
    id TEXT PRIMARY KEY,
    entry_id TEXT NOT NULL REFERENCES blocklist (id),
    recommendation TEXT NOT NULL,
    reasons TEXT NOT NULL,
    by_account TEXT NOT NULL,
    at BIGINT NOT NULL,
    answer TEXT,
    answer_note TEXT,
    answered_by TEXT,
    answered_at BIGINT
);
