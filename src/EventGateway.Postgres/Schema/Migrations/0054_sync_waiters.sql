-- Waiters of mutexes and semaphores across replicas, so places go in one global order (priority, then the age of the
-- workflow, then the holder's name) as Argo's database semaphores keep their pending holders in the database. A row
-- lives while its holder waits; it goes when the place is granted, the holder is released, or the holder's workflow is
-- taken over from a dead replica (the new owner queues it again, with its original priority and creation time).
CREATE TABLE egw_sync_waiters (
    lock_key text        NOT NULL,
    holder   text        NOT NULL,
    replica  text        NOT NULL,
    priority bigint      NOT NULL,
    created  timestamptz NOT NULL,
    PRIMARY KEY (lock_key, holder)
);
CREATE INDEX egw_sync_waiters_holder ON egw_sync_waiters (holder);
