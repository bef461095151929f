-- Leases shared by the replicas (taken and renewed by their owners) and checked by fenced writes (sensor state).
-- The same table as the store's 0002 migration creates: whichever is merged keeps one of the two files.
CREATE TABLE IF NOT EXISTS egw_leases (
    name       text        PRIMARY KEY,
    holder     text        NOT NULL,
    epoch      bigint      NOT NULL,
    expires_at timestamptz NOT NULL
);
