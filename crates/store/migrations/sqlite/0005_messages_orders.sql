-- Signed messages received (kept per sender and id, so a repeat gets the first receipt back)
-- and to be sent (the durable outbox), and orders with their timelines.
CREATE TABLE inbox (
    peer TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    jws TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    receipt TEXT NOT NULL,
    PRIMARY KEY (peer, id)
);
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    peer TEXT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    jws TEXT NOT NULL,
    queued_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    delivered_at INTEGER,
    receipt TEXT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    side TEXT NOT NULL,
    peer TEXT NOT NULL,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE order_events (
    order_id TEXT NOT NULL REFERENCES orders (id),
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);
