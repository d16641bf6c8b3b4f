-- TCO Art. 3(2) (issue 16): the information on procedures and deadlines an authority gives a
-- platform before its first removal order there, sent through Tocsin (given_at: the platform's
-- time of receipt, set when its receipt comes back) or recorded as given by other means; and, on
-- the platform, what it received.
CREATE TABLE procedure_information (
    id TEXT PRIMARY KEY,
    side TEXT NOT NULL,
    peer TEXT NOT NULL,
    given_at BIGINT,
    means TEXT NOT NULL,
    text TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX procedure_information_peer ON procedure_information (peer);
