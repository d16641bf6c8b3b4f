-- TCO Art. 6(2) (issue 16): content is kept longer than six months when the issuing authority
-- (for itself or a court) asks, until it says the proceedings no longer need it. One hold per
-- order; a release keeps the row with its time.
CREATE TABLE preservation_holds (
    order_id TEXT PRIMARY KEY,
    peer TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    released_at BIGINT,
    release_reason TEXT
);
-- When a failing fetch was first tried, so that retries stop after a time rather than a count,
-- and whether the escalation webhook was told it keeps failing.
ALTER TABLE evidence ADD COLUMN first_attempt_at BIGINT;
ALTER TABLE evidence ADD COLUMN alerted INTEGER NOT NULL DEFAULT 0;
