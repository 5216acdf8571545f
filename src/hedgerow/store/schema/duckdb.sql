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

-- Latest versions by arg_max (a hash aggregate: about 5x faster here than a row_number()
-- window). The inner columns are renamed so that the outer aliases never shadow them.
CREATE OR REPLACE VIEW persons_latest AS
SELECT
    project_id,
    id,
    arg_max(_properties, _version) AS properties,
    arg_max(_is_identified, _version) AS is_identified,
    arg_max(_created_at, _version) AS created_at,
    max(_version) AS version
FROM (
    SELECT project_id, id, properties AS _properties, is_identified AS _is_identified,
           created_at AS _created_at, version AS _version, is_deleted AS _is_deleted
    FROM persons
)
GROUP BY project_id, id
HAVING NOT arg_max(_is_deleted, _version);

CREATE OR REPLACE VIEW person_distinct_ids_latest AS
SELECT project_id, distinct_id, arg_max(_person_id, _version) AS person_id, max(_version) AS version
FROM (
    SELECT project_id, distinct_id, person_id AS _person_id, version AS _version,
           is_deleted AS _is_deleted
    FROM person_distinct_ids
)
GROUP BY project_id, distinct_id
HAVING NOT arg_max(_is_deleted, _version);

CREATE OR REPLACE VIEW static_cohort_people_latest AS
SELECT project_id, cohort_id, person_id
FROM (
    SELECT project_id, cohort_id, person_id, version AS _version, is_deleted AS _is_deleted
    FROM static_cohort_people
)
GROUP BY project_id, cohort_id, person_id
HAVING NOT arg_max(_is_deleted, _version);
