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
        person_id,
        CASE WHEN ts < $p4 THEN 0 WHEN ts < $p5 THEN 1 ELSE 2 END AS period
      FROM (
        SELECT
          pdi.person_id AS person_id,
          EPOCH_US(e.timestamp) AS ts,
          e.uuid AS uuid
        FROM events AS e
        INNER JOIN person_distinct_ids_latest AS pdi
          ON pdi.project_id = e.project_id AND pdi.distinct_id = e.distinct_id
        WHERE
          e.project_id = $p0
          AND (
            (
              e.event = $p1
            )
          )
          AND e.timestamp >= (
            CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p2)
          )
          AND e.timestamp <= (
            CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p3)
          )
      ) AS ev
      GROUP BY
        person_id,
        CASE WHEN ts < $p4 THEN 0 WHEN ts < $p5 THEN 1 ELSE 2 END
      HAVING
        COUNT(*) >= $p6
    ) AS periods
    GROUP BY
      person_id
    HAVING
      COUNT(*) >= $p7
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
            WHEN REGEXP_FULL_MATCH(
              (
                properties ->> $p8
              ),
              '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})$'
            )
            THEN EPOCH_US(TRY_CAST(properties ->> $p8 AS TIMESTAMPTZ))
            WHEN REGEXP_FULL_MATCH(
              (
                properties ->> $p8
              ),
              '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?$'
            )
            THEN EPOCH_US(TRY_CAST(properties ->> $p8 AS TIMESTAMP))
            WHEN REGEXP_FULL_MATCH((
              properties ->> $p8
            ), '^-?[0-9]{1,12}$')
            THEN CAST(properties ->> $p8 AS BIGINT) * 1000000
          END < $p9
        ),
        FALSE
      )
  ) AS s
) AS members
-- params: {"p0": 3, "p1": "login", "p2": 1716638400000000, "p3": 1718452800000000, "p4": 1717243200000000, "p5": 1717848000000000, "p6": 2, "p7": 2, "p8": "$.\"signup_date\"", "p9": 1715860800000000}
