SELECT DISTINCT
  person_id
FROM (
  SELECT
    person_id
  FROM (
    SELECT
      person_id
    FROM (
      SELECT
        id AS person_id
      FROM persons_latest
      WHERE
        project_id = {p0: Int64}
        AND COALESCE(
          (
            positionCaseInsensitiveUTF8(
              multiIf(
                JSONType(properties, {p1: String}) = 'String',
                JSONExtractString(properties, {p1: String}),
                JSONType(properties, {p1: String}) = 'Null',
                NULL,
                JSONExtractRaw(properties, {p1: String})
              ),
              {p2: String}
            ) > 0
          ),
          0
        )
    ) AS s
    INTERSECT DISTINCT
    SELECT
      person_id
    FROM (
      SELECT
        id AS person_id
      FROM persons_latest
      WHERE
        project_id = {p0: Int64}
        AND COALESCE(
          (
            CASE
              WHEN match(
                multiIf(
                  JSONType(properties, {p3: String}) = 'String',
                  JSONExtractString(properties, {p3: String}),
                  JSONType(properties, {p3: String}) = 'Null',
                  NULL,
                  JSONExtractRaw(properties, {p3: String})
                ),
                '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$'
              )
              THEN toFloat64OrNull(
                multiIf(
                  JSONType(properties, {p3: String}) = 'String',
                  JSONExtractString(properties, {p3: String}),
                  JSONType(properties, {p3: String}) = 'Null',
                  NULL,
                  JSONExtractRaw(properties, {p3: String})
                )
              )
              ELSE NULL
            END >= {p4: Float64}
            AND CASE
              WHEN match(
                multiIf(
                  JSONType(properties, {p3: String}) = 'String',
                  JSONExtractString(properties, {p3: String}),
                  JSONType(properties, {p3: String}) = 'Null',
                  NULL,
                  JSONExtractRaw(properties, {p3: String})
                ),
                '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$'
              )
              THEN toFloat64OrNull(
                multiIf(
                  JSONType(properties, {p3: String}) = 'String',
                  JSONExtractString(properties, {p3: String}),
                  JSONType(properties, {p3: String}) = 'Null',
                  NULL,
                  JSONExtractRaw(properties, {p3: String})
                )
              )
              ELSE NULL
            END <= {p5: Float64}
          ),
          0
        )
    ) AS s
  ) AS s
  EXCEPT DISTINCT
  SELECT
    person_id
  FROM (
    SELECT
      person_id AS person_id
    FROM cohort_members
    WHERE
      project_id = {p0: Int64} AND cohort_id = {p6: Int64} AND version = {p7: Int64}
  ) AS s
) AS members
-- params: {"p0": 3, "p1": "$browser", "p2": "chrome", "p3": "age", "p4": 18.0, "p5": 30.0, "p6": 8, "p7": 4}
