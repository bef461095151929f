-- Holders of mutexes and semaphores across replicas (as Argo's database-backed semaphores): one row per lock and
-- holder ("ns/workflow" or "ns/workflow/nodeId"); a place is taken in one transaction under the lock's advisory lock.
CREATE TABLE egw_sync_holders (
    lock_key  text        NOT NULL,
    holder    text        NOT NULL,
    replica   text        NOT NULL,
    held_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lock_key, holder)
);
CREATE INDEX egw_sync_holders_holder ON egw_sync_holders (holder);
