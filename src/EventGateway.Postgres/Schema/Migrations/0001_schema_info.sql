-- Which egw created the schema, and when: the first migration, so every later one has a predecessor to follow.
CREATE TABLE IF NOT EXISTS egw_schema_info (
    id         integer PRIMARY KEY CHECK (id = 1),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO egw_schema_info (id) VALUES (1) ON CONFLICT DO NOTHING;
