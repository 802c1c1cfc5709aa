-- Webhook deliveries are claimed before they are sent (docs/sync.md "Notifications"): a delivery pass takes pending, due
-- rows only when nobody holds them (claimed_until NULL or in the past), stamping claimed_until = now + lease and its own
-- claim_id in the same statement, so overlapping passes (the run's own delivery, cron ticks that overlap) never get the
-- same row. Right before each POST the pass renews its claim only if claim_id is still its own: a row whose claim lapsed
-- while it waited in a long pass, and that another pass took meanwhile, is not sent twice. A pass that dies mid-delivery
-- leaves its claim to expire; a later tick retries the row. Both NULL = not claimed.
ALTER TABLE notifications_outbox ADD COLUMN claimed_until INTEGER;
ALTER TABLE notifications_outbox ADD COLUMN claim_id TEXT;
