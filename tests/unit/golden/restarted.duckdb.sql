SELECT DISTINCT
  person_id
FROM (
  SELECT
    person_id
  FROM (
    SELECT
      person_id
    FROM (
      SELECT DISTINCT
        person_id
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
          AND e.timestamp <= (
            CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p2)
          )
      ) AS ev
    ) AS s
    INTERSECT
    SELECT
      person_id
    FROM (
      SELECT DISTINCT
        person_id
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
              e.event = $p3
            )
          )
          AND e.timestamp >= (
            CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p4)
          )
          AND e.timestamp <= (
            CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p5)
          )
      ) AS ev
    ) AS s
  ) AS s
  EXCEPT
  SELECT
    person_id
  FROM (
    SELECT DISTINCT
      person_id
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
            e.event = $p6
          )
        )
        AND e.timestamp >= (
          CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p7)
        )
        AND e.timestamp <= (
          CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p8)
        )
    ) AS ev
  ) AS s
) AS members
-- params: {"p0": 3, "p1": "$pageview", "p2": 1715860799999999, "p3": "$pageview", "p4": 1717848000000000, "p5": 1718452800000000, "p6": "$pageview", "p7": 1715860800000000, "p8": 1717847999999999}
