-- Each platform reports the hashes of each target of an order once (issue 15): a report of the
-- same content again, or of content the order did not name, is refused.
CREATE TABLE inbox_reports (
    peer TEXT NOT NULL,
    order_id TEXT NOT NULL,
    url TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (peer, order_id, url)
);
