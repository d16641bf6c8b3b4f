-- A blocklist entry may end on its own date (a court's or the law's limit): it then expires.
ALTER TABLE blocklist ADD COLUMN expires_at INTEGER;
