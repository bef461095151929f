-- Resources: Kubernetes-style objects by (kind, namespace, name) with one global resourceVersion.
-- The version is a counter row, not a sequence: a writer locks it for the rest of its transaction, so versions are
-- gapless (a rolled-back write gives its version back, as in the embedded store) and commits happen in version order,
-- which is what lets a watcher that reconnects catch up with "every change after the last version I saw".
CREATE TABLE egw_resource_version (
    id    integer PRIMARY KEY CHECK (id = 1),
    value bigint NOT NULL
);
INSERT INTO egw_resource_version (id, value) VALUES (1, 0);

CREATE TABLE egw_resources (
    kind             text   NOT NULL,
    namespace        text   NOT NULL,
    name             text   NOT NULL,
    uid              text   NOT NULL,
    resource_version bigint NOT NULL,
    body             text   NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);

-- The change feed kept for watchers that were disconnected (deletions included); pruned by age.
CREATE TABLE egw_resource_changes (
    resource_version bigint      PRIMARY KEY,
    type             text        NOT NULL,
    kind             text        NOT NULL,
    namespace        text        NOT NULL,
    name             text        NOT NULL,
    origin           text        NOT NULL,
    changed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX egw_resource_changes_changed_at ON egw_resource_changes (changed_at);

-- Leases shared by the replicas (taken and renewed by their owners) and checked by fenced writes (sensor state).
CREATE TABLE egw_leases (
    name       text        PRIMARY KEY,
    holder     text        NOT NULL,
    epoch      bigint      NOT NULL,
    expires_at timestamptz NOT NULL
);
