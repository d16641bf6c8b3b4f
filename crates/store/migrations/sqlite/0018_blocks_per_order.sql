-- A block belongs to the order that made it (issue 15): one row per URL and order, so that a URL
-- stays blocked while any of its orders stands, and an order made after an earlier block was
-- lifted gets a row of its own that survives a restart. Confidential orders (TCO Art. 11) are
-- marked, so that the public notice says nothing of them.
CREATE TABLE blocks_per_order (
    url TEXT NOT NULL,
    order_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    authority TEXT NOT NULL,
    blocked_at INTEGER NOT NULL,
    lifted_at INTEGER,
    confidential INTEGER NOT NULL DEFAULT 0,
    confidential_until INTEGER,
    PRIMARY KEY (url, order_id)
);
INSERT INTO blocks_per_order (url, order_id, reference, legal_basis, authority, blocked_at, lifted_at)
    SELECT url, order_id, reference, legal_basis, authority, blocked_at, lifted_at FROM blocks;
DROP TABLE blocks;
ALTER TABLE blocks_per_order RENAME TO blocks;
CREATE INDEX blocks_by_order ON blocks (order_id);
