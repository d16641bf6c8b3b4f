-- LCEN Art. 6-1 and Décret 2015-125 (issue 16): why each address is blocked (the annual figures
-- break down by reason), and for the law's grounds the prior removal request to the publisher or
-- host (or why they could not be reached), as JSON.
ALTER TABLE blocklist ADD COLUMN reason TEXT NOT NULL DEFAULT 'other';
ALTER TABLE blocklist ADD COLUMN removal_request TEXT;
