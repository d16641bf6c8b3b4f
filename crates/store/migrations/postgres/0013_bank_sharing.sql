-- Bank sharing (issue 6): the peers a bank is published to, and on a subscriber the remote banks
-- it follows, with the change number it has applied up to.
CREATE TABLE bank_subscribers (
    bank TEXT NOT NULL REFERENCES banks (name),
    peer TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (bank, peer)
);
CREATE TABLE bank_subscriptions (
    bank TEXT PRIMARY KEY REFERENCES banks (name),
    peer TEXT NOT NULL,
    remote_bank TEXT NOT NULL,
    cursor BIGINT NOT NULL,
    pulled_at BIGINT,
    error TEXT
);
