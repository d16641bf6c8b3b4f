-- Whether a block carries out a removal order or a referral the platform accepted (issue 16):
-- content removed on a referral is removed under the platform's terms, and its public notice
-- must not call it a removal order.
ALTER TABLE blocks ADD COLUMN kind TEXT NOT NULL DEFAULT 'removal_order';
UPDATE blocks SET kind = 'referral' WHERE order_id IN (SELECT id FROM orders WHERE side = 'received' AND kind = 'referral');
