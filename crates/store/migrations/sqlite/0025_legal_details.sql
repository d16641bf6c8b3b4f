-- TCO Annex I (issue 16): the particulars a node states for itself ('self') and keeps for each
-- peer (by key fingerprint), as JSON, so that orders carry sections A, D, E, F and G without
-- an issuer typing them each time.
CREATE TABLE legal_details (
    subject TEXT PRIMARY KEY,
    details TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
