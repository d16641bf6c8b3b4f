-- Content preserved from the platform's origin for each blocked URL (TCO Art. 6: six months),
-- its hashes, and the stay-down bank they feed.
CREATE TABLE evidence (
    order_id TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    sha256 TEXT,
    md5 TEXT,
    size INTEGER,
    content_type TEXT,
    pdq TEXT,
    pdq_quality INTEGER,
    fetched_at INTEGER NOT NULL,
    retain_until INTEGER,
    error TEXT,
    PRIMARY KEY (order_id, url)
);
CREATE TABLE bank_entries (
    bank TEXT NOT NULL,
    signal_type TEXT NOT NULL,
    value TEXT NOT NULL,
    order_id TEXT NOT NULL,
    url TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (bank, signal_type, value)
);
