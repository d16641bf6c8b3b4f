-- Other nodes this node trusts, each with the key its administrator confirmed by fingerprint.
CREATE TABLE peers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    jwk TEXT NOT NULL,
    roles TEXT NOT NULL,
    added_at INTEGER NOT NULL
);
