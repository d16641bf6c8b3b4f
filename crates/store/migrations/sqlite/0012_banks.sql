-- Hash banks (issue 6): named sets of signals, each bank with the action a match calls for.
-- Every change to a signal takes the next number from bank_seq and stamps it on the signal's
-- row, so the node's in-memory matcher and subscribing nodes follow changes in order.
CREATE TABLE banks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    description TEXT NOT NULL,
    action TEXT NOT NULL,
    pdq_threshold INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE bank_signals (
    num INTEGER PRIMARY KEY,
    bank TEXT NOT NULL REFERENCES banks (name),
    signal_type TEXT NOT NULL,
    value TEXT NOT NULL,
    labels TEXT NOT NULL,
    source TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    source_detail TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    seq INTEGER NOT NULL,
    UNIQUE (bank, signal_type, value)
);
CREATE INDEX bank_signals_seq ON bank_signals (seq);
CREATE TABLE bank_seq (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT INTO banks (name, owner, description, action, pdq_threshold, created_by, created_at)
    VALUES ('stay-down', '', 'Content removed on this node under an order, kept from coming back.', 'block', 31, 'tocsin', 0);
INSERT INTO bank_signals (num, bank, signal_type, value, labels, source, source_ref, source_detail, added_at, state, seq)
    SELECT ROW_NUMBER() OVER (ORDER BY added_at, signal_type, value), 'stay-down', signal_type, value, '{}', 'order', order_id, url,
           added_at, 'active', ROW_NUMBER() OVER (ORDER BY added_at, signal_type, value)
    FROM bank_entries;
INSERT INTO bank_seq (id, seq) SELECT 1, COUNT(*) FROM bank_signals;
DROP TABLE bank_entries;
