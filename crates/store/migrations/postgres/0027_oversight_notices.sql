-- LCEN Art. 6-1 and Décret 2015-125 (issue 16): the qualified person is told of every entry
-- added to or taken off the blocklist. On the authority, how far into its log each oversight
-- peer has been told; on the oversight node, what it was told.
CREATE TABLE oversight_cursors (
    peer TEXT PRIMARY KEY,
    next_index BIGINT NOT NULL
);
CREATE TABLE blocklist_notices (
    peer TEXT NOT NULL,
    id TEXT NOT NULL,
    log_index BIGINT NOT NULL,
    entry TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (peer, id)
);
