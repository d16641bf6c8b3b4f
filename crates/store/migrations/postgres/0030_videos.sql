-- Videos in banks (issue 19). A vPDQ signal's value is a whole video's features (up to 1.5 MB),
-- too long for a unique index on PostgreSQL, so signals are told apart by `value_key`: the
-- value itself for the short types, `sha256:` and its SHA-256 for vPDQ. Each bank says how a
-- video matches: by the share of the query's frames matched (`query`, python-threatexchange's
-- rule) or of the banked video's (`target`, Meta's C++ README), at least `video_percent`.
-- Preserved videos keep their vPDQ features (`evidence.vpdq`, canonical form) as images keep PDQ.
ALTER TABLE bank_signals ADD COLUMN value_key TEXT NOT NULL DEFAULT '';
UPDATE bank_signals SET value_key = value;
ALTER TABLE bank_signals DROP CONSTRAINT bank_signals_bank_signal_type_value_key;
CREATE UNIQUE INDEX bank_signals_key ON bank_signals (bank, signal_type, value_key);
ALTER TABLE banks ADD COLUMN video_share TEXT NOT NULL DEFAULT 'query';
ALTER TABLE banks ADD COLUMN video_percent BIGINT NOT NULL DEFAULT 80;
ALTER TABLE evidence ADD COLUMN vpdq TEXT;
