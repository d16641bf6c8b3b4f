-- Accounts may have a password, kept only as an Argon2id PHC string.
ALTER TABLE accounts ADD COLUMN password_hash TEXT;
