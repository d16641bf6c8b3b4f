-- The Merkle log: one row per leaf, and the compact tree (size and peaks) for O(log n) appends.
CREATE TABLE log_entries (
    idx BIGINT PRIMARY KEY,
    data BYTEA NOT NULL,
    leaf_hash BYTEA NOT NULL
);
CREATE TABLE log_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    peaks BYTEA NOT NULL
);
INSERT INTO log_state (id, size, peaks) VALUES (1, 0, '\x');
