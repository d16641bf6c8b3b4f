-- The Merkle log: one row per leaf, and the compact tree (size and peaks) for O(log n) appends.
CREATE TABLE log_entries (
    idx INTEGER PRIMARY KEY,
    data BLOB NOT NULL,
    leaf_hash BLOB NOT NULL
);
CREATE TABLE log_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    peaks BLOB NOT NULL
);
INSERT INTO log_state (id, size, peaks) VALUES (1, 0, x'');
