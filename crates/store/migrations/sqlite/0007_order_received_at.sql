-- When the platform received an order (its clock, from the receipt on the authority's side):
-- the one-hour deadline runs from here (TCO Art. 3(3)).
ALTER TABLE orders ADD COLUMN received_at INTEGER;
