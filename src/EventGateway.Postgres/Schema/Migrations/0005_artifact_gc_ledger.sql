-- The artifactGC ledger: saved artifacts that a workflow's completion or deletion will delete, found again by any replica.
CREATE TABLE egw_artifact_gc (
    id        bigserial PRIMARY KEY,
    namespace text NOT NULL,
    workflow  text NOT NULL,
    node_id   text NOT NULL,
    artifact  text NOT NULL,
    entry     text NOT NULL,
    UNIQUE (namespace, workflow, node_id, artifact)
);
