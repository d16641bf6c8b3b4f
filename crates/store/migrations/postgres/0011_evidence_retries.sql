-- A failed preservation is tried again, a few times, with backoff.
ALTER TABLE evidence ADD COLUMN attempts BIGINT NOT NULL DEFAULT 1;
ALTER TABLE evidence ADD COLUMN next_attempt_at BIGINT;
