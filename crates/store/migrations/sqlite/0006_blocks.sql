-- What the platform's gate refuses: one row per canonical URL, with the order that blocked it.
CREATE TABLE blocks (
    url TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    authority TEXT NOT NULL,
    blocked_at INTEGER NOT NULL,
    lifted_at INTEGER
);
