-- Sensor state shared by the replicas: the tables of the embedded sensors.db, times in Unix milliseconds as there.
CREATE TABLE egw_sensor_checkpoints (
    sensor text   PRIMARY KEY,
    seq    bigint NOT NULL
);

CREATE TABLE egw_sensor_partial (
    sensor text   NOT NULL,
    trig   text   NOT NULL,
    dep    text   NOT NULL,
    seq    bigint NOT NULL,
    event  bytea  NOT NULL,
    PRIMARY KEY (sensor, trig, dep)
);

CREATE TABLE egw_sensor_firings (
    sensor    text   NOT NULL,
    trig      text   NOT NULL,
    dedup_key text   NOT NULL,
    seqs      text   NOT NULL,
    time      bigint NOT NULL,
    outcome   text   NOT NULL,
    detail    text,
    PRIMARY KEY (sensor, trig, dedup_key)
);
CREATE INDEX egw_sensor_firings_time ON egw_sensor_firings (time);

CREATE TABLE egw_sensor_decisions (
    seq     bigint NOT NULL,
    sensor  text   NOT NULL,
    trig    text   NOT NULL,
    outcome text   NOT NULL,
    reason  text,
    time    bigint NOT NULL,
    PRIMARY KEY (seq, sensor, trig, outcome)
);
CREATE INDEX egw_sensor_decisions_time ON egw_sensor_decisions (time);

CREATE TABLE egw_sensor_counters (
    sensor  text   NOT NULL,
    trig    text   NOT NULL,
    outcome text   NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (sensor, trig, outcome)
);

CREATE TABLE egw_sensor_dead_letters (
    id             bigserial PRIMARY KEY,
    sensor         text   NOT NULL,
    trig           text   NOT NULL,
    dedup_key      text   NOT NULL,
    seqs           text   NOT NULL,
    events         text   NOT NULL,
    error          text   NOT NULL,
    time           bigint NOT NULL,
    replayed_at    bigint,
    replay_outcome text
);
