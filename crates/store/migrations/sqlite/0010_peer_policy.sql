-- How this node treats a peer's removal orders: 'auto' (executed at once) or 'review' (held
-- for a reviewer, as referrals are).
ALTER TABLE peers ADD COLUMN policy TEXT NOT NULL DEFAULT 'auto';
