-- A block belongs to the order that made it (issue 15): one row per URL and order, so that a URL
-- stays blocked while any of its orders stands, and an order made after an earlier block was
-- lifted gets a row of its own that survives a restart. Confidential orders (TCO Art. 11) are
-- marked, so that the public notice says nothing of them.
ALTER TABLE blocks DROP CONSTRAINT blocks_pkey;
ALTER TABLE blocks ADD PRIMARY KEY (url, order_id);
ALTER TABLE blocks ADD COLUMN confidential BIGINT NOT NULL DEFAULT 0;
ALTER TABLE blocks ADD COLUMN confidential_until BIGINT;
CREATE INDEX blocks_by_order ON blocks (order_id);
