-- Analytics store schema, ClickHouse (a server through clickhouse-connect, or chDB in-process).
-- Idempotent: applied on every start by ClickHouseStore.migrate(). Readers use `events` and the
-- *_latest views (store/base.py); every query runs with the `final = 1` setting, so the
-- ReplacingMergeTree tables never show a row twice.

CREATE TABLE IF NOT EXISTS events (
    uuid UUID,
    project_id Int64,
    event String,
    distinct_id String,
    person_id UUID,
    properties String,
    timestamp DateTime64(6, 'UTC'),
    created_at DateTime64(6, 'UTC')
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, toDate(timestamp), event, cityHash64(distinct_id), uuid);

CREATE TABLE IF NOT EXISTS persons (
    project_id Int64,
    id UUID,
    properties String,
    is_identified Bool,
    created_at DateTime64(6, 'UTC'),
    version Int64,
    is_deleted Bool
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, id);

CREATE TABLE IF NOT EXISTS person_distinct_ids (
    project_id Int64,
    distinct_id String,
    person_id UUID,
    version Int64,
    is_deleted Bool
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, distinct_id);

CREATE TABLE IF NOT EXISTS static_cohort_people (
    project_id Int64,
    cohort_id Int64,
    person_id UUID,
    version Int64,
    is_deleted Bool
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, cohort_id, person_id);

CREATE TABLE IF NOT EXISTS cohort_members (
    project_id Int64,
    cohort_id Int64,
    version Int64,
    person_id UUID
) ENGINE = MergeTree
ORDER BY (project_id, cohort_id, version, person_id);

-- The inner columns are renamed so that the outer aliases never shadow what argMax reads.
CREATE OR REPLACE VIEW persons_latest AS
SELECT
    project_id,
    id,
    argMax(_properties, _version) AS properties,
    argMax(_is_identified, _version) AS is_identified,
    argMax(_created_at, _version) AS created_at,
    max(_version) AS version
FROM (
    SELECT project_id, id, properties AS _properties, is_identified AS _is_identified,
           created_at AS _created_at, version AS _version, is_deleted AS _is_deleted
    FROM persons
)
GROUP BY project_id, id
HAVING argMax(_is_deleted, _version) = false;

CREATE OR REPLACE VIEW person_distinct_ids_latest AS
SELECT project_id, distinct_id, argMax(_person_id, _version) AS person_id, max(_version) AS version
FROM (
    SELECT project_id, distinct_id, person_id AS _person_id, version AS _version,
           is_deleted AS _is_deleted
    FROM person_distinct_ids
)
GROUP BY project_id, distinct_id
HAVING argMax(_is_deleted, _version) = false;

CREATE OR REPLACE VIEW static_cohort_people_latest AS
SELECT project_id, cohort_id, person_id
FROM (
    SELECT project_id, cohort_id, person_id, version AS _version, is_deleted AS _is_deleted
    FROM static_cohort_people
)
GROUP BY project_id, cohort_id, person_id
HAVING argMax(_is_deleted, _version) = false;
