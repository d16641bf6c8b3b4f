-- One clock for the one-hour figure (issue 15): when the platform removed the content, by the
-- platform's clock, as its receipt time is; and the clock difference last seen with each peer.
ALTER TABLE orders ADD COLUMN removed_at INTEGER;
ALTER TABLE peers ADD COLUMN clock_skew_ms INTEGER;
-- A delivery the peer refused, or one failing for minutes, shown with the order it concerns.
ALTER TABLE orders ADD COLUMN delivery_problem TEXT;
