-- The e-Evidence Regulation (EU) 2023/1543 (issue 18): data requests an authority issued
-- (`side` issued) or a platform received (`side` received), with their clocks from the
-- platform's receipt, Unix ms; `body` is the request's fields, JSON. An enforcing authority
-- keeps the requests it was notified of (`side` notified, Art. 8).
CREATE TABLE data_requests (
    id TEXT PRIMARY KEY,
    side TEXT NOT NULL,
    peer TEXT NOT NULL,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    body TEXT NOT NULL,
    recipient TEXT,
    state TEXT NOT NULL,
    issued_by TEXT,
    validated_by TEXT,
    created_at BIGINT NOT NULL,
    received_at BIGINT,
    deadline_at BIGINT,
    objection_until BIGINT,
    lapses_at BIGINT,
    extended BIGINT NOT NULL DEFAULT 0,
    answered_at BIGINT,
    manifest TEXT,
    refusal TEXT,
    fetched_at BIGINT,
    answer_message TEXT,
    no_grounds_at BIGINT,
    preserve_delivery TEXT,
    preserved_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX data_requests_by_state ON data_requests (side, state);
-- The preservation webhook call of a received request, to record when the platform's systems
-- took it.
CREATE INDEX data_requests_by_preserve_delivery ON data_requests (preserve_delivery);
-- The files of an answer package, as its manifest lists them; `stored` once this node holds
-- the age file (under DATA/packages/, named by its SHA-256).
CREATE TABLE request_files (
    request_id TEXT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    age_sha256 TEXT NOT NULL,
    stored BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (request_id, name)
);
-- TCO Art. 14(5): reports of terrorist content involving an imminent threat to life, sent by a
-- platform (`side` sent) or received by an authority (`side` received); `body` is the report,
-- JSON. An authority's report stays first on its console until someone acknowledges it.
CREATE TABLE threat_reports (
    id TEXT PRIMARY KEY,
    side TEXT NOT NULL,
    peer TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_by TEXT,
    acknowledged_at BIGINT,
    acknowledged_by TEXT
);
