-- The global process cap (--max-processes with a shared store): a step's claim also records its place in the cap.
-- slot: NULL (none asked, or given back), 'waiting' (asked at asked_at, still asking: polled_at) or 'held' (its process
-- may run). shard is its workflow's shard, so the replica that takes a shard over gives back the places its dead owner held.
ALTER TABLE egw_step_claims ADD COLUMN slot      text CHECK (slot IN ('waiting', 'held'));
ALTER TABLE egw_step_claims ADD COLUMN shard     integer;
ALTER TABLE egw_step_claims ADD COLUMN asked_at  timestamptz;
ALTER TABLE egw_step_claims ADD COLUMN polled_at timestamptz;
CREATE INDEX egw_step_claims_slot ON egw_step_claims (slot, asked_at) WHERE slot IS NOT NULL;
