-- The places of the sensor workflow cap (--max-sensor-workflows) across replicas: one row per place, held by a firing
-- about to create its workflow ('firing:SENSOR/TRIGGER/DEDUPKEY') or by the workflow it created ('NS/NAME', with
-- namespace and name for the check against egw_resources). Taken in one transaction under an advisory lock.
CREATE TABLE egw_sensor_workflow_places (
    holder    text        PRIMARY KEY,
    namespace text,
    name      text,
    taken_at  timestamptz NOT NULL DEFAULT now()
);
