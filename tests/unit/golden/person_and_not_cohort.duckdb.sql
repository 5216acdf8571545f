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
        project_id = $p0
        AND COALESCE((
          STRPOS(LOWER(properties ->> $p1), $p2) > 0
        ), FALSE)
    ) AS s
    INTERSECT
    SELECT
      person_id
    FROM (
      SELECT
        id AS person_id
      FROM persons_latest
      WHERE
        project_id = $p0
        AND COALESCE(
          (
            CASE
              WHEN REGEXP_FULL_MATCH((
                properties ->> $p3
              ), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
              THEN TRY_CAST(properties ->> $p3 AS DOUBLE)
            END >= $p4
            AND CASE
              WHEN REGEXP_FULL_MATCH((
                properties ->> $p3
              ), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
              THEN TRY_CAST(properties ->> $p3 AS DOUBLE)
            END <= $p5
          ),
          FALSE
        )
    ) AS s
  ) AS s
  EXCEPT
  SELECT
    person_id
  FROM (
    SELECT
      person_id AS person_id
    FROM cohort_members
    WHERE
      project_id = $p0 AND cohort_id = $p6 AND version = $p7
  ) AS s
) AS members
-- params: {"p0": 3, "p1": "$.\"$browser\"", "p2": "chrome", "p3": "$.\"age\"", "p4": 18.0, "p5": 30.0, "p6": 8, "p7": 4}
