-- Analytics store schema, DuckDB. Idempotent: applied on every start by DuckDBStore.migrate().
-- Readers use `events` and the *_latest views (see store/base.py for the conventions).

CREATE TABLE IF NOT EXISTS events (
    uuid UUID NOT NULL,
    project_id BIGINT NOT NULL,
    event VARCHAR NOT NULL,
    distinct_id VARCHAR NOT NULL,
    person_id UUID,
    properties VARCHAR NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS persons (
    project_id BIGINT NOT NULL,
    id UUID NOT NULL,
    properties VARCHAR NOT NULL,
    is_identified BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL,
    is_deleted BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS person_distinct_ids (
    project_id BIGINT NOT NULL,
    distinct_id VARCHAR NOT NULL,
    person_id UUID NOT NULL,
    version BIGINT NOT NULL,
    is_deleted BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS static_cohort_people (
    project_id BIGINT NOT NULL,
    cohort_id BIGINT NOT NULL,
    person_id UUID NOT NULL,
    version BIGINT NOT NULL,
    is_deleted BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS cohort_members (
    project_id BIGINT NOT NULL,
    cohort_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    person_id UUID NOT NULL
);

CREATE OR REPLACE VIEW persons_latest AS
SELECT project_id, id, properties, is_identified, created_at, version
FROM (
    SELECT *, row_number() OVER (PARTITION BY project_id, id ORDER BY version DESC) AS _rank
    FROM persons
)
WHERE _rank = 1 AND NOT is_deleted;

CREATE OR REPLACE VIEW person_distinct_ids_latest AS
SELECT project_id, distinct_id, person_id, version
FROM (
    SELECT *, row_number() OVER (PARTITION BY project_id, distinct_id ORDER BY version DESC) AS _rank
    FROM person_distinct_ids
)
WHERE _rank = 1 AND NOT is_deleted;

CREATE OR REPLACE VIEW static_cohort_people_latest AS
SELECT project_id, cohort_id, person_id
FROM (
    SELECT *, row_number() OVER (
        PARTITION BY project_id, cohort_id, person_id ORDER BY version DESC
    ) AS _rank
    FROM static_cohort_people
)
WHERE _rank = 1 AND NOT is_deleted;
