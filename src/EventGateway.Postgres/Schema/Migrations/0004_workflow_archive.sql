-- The workflow archive. position orders the listing (newest archived first) and is the continue token; a workflow
-- archived again (same uid) keeps its position, as the embedded archive keeps its rowid.
CREATE TABLE egw_archived_workflows (
    position    bigserial UNIQUE,
    uid         text   PRIMARY KEY,
    namespace   text   NOT NULL,
    name        text   NOT NULL,
    finished_at bigint NOT NULL,
    labels      text   NOT NULL,
    summary     text   NOT NULL,
    body        text   NOT NULL
);
CREATE INDEX egw_archived_workflows_by_name ON egw_archived_workflows (namespace, name);
CREATE INDEX egw_archived_workflows_by_finish ON egw_archived_workflows (finished_at);
