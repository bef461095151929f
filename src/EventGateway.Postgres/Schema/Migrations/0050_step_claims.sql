-- Which replica started each step, written before its process starts: the replica that takes over a workflow ends a
-- step claimed by another (its process went with that replica) instead of running the same node twice.
CREATE TABLE egw_step_claims (
    workflow_uid text        NOT NULL,
    node_id      text        NOT NULL,
    replica      text        NOT NULL,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_uid, node_id)
);
CREATE INDEX egw_step_claims_claimed_at ON egw_step_claims (claimed_at);
