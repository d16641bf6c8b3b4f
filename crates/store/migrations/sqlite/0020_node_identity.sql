-- Which key this database's log is signed with (issue 15), so that a node started with another
-- key, or a lost database replaced by an empty one under the same key, refuses to start instead
-- of making two histories. A database that already has a log is bound to the key it is next
-- started with ('' until then).
CREATE TABLE node_identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    bound_at BIGINT NOT NULL
);
INSERT INTO node_identity (id, fingerprint, bound_at) SELECT 1, '', 0 WHERE EXISTS (SELECT 1 FROM log_entries);
