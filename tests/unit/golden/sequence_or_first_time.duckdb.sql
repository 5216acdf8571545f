SELECT DISTINCT
  person_id
FROM (
  SELECT
    person_id
  FROM (
    SELECT DISTINCT
      a.person_id AS person_id
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
    ) AS a
    INNER JOIN (
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
            e.event = $p4
          )
        )
        AND e.timestamp >= (
          CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p5)
        )
        AND e.timestamp <= (
          CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p6)
        )
    ) AS b
      ON a.person_id = b.person_id
    WHERE
      b.ts > a.ts AND b.ts <= a.ts + $p7
  ) AS s
  UNION
  SELECT
    person_id
  FROM (
    SELECT
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
        e.project_id = $p0 AND (
          (
            e.event = $p8
          )
        )
    ) AS ev
    GROUP BY
      person_id
    HAVING
      MIN(ts) >= $p9 AND MIN(ts) <= $p10
  ) AS s
) AS members
-- params: {"p0": 3, "p1": "signup", "p10": 1718452800000000, "p2": 1717848000000000, "p3": 1718452800000000, "p4": "purchase", "p5": 1717848000000000, "p6": 1718452800000000, "p7": 86400000000, "p8": "purchase", "p9": 1717848000000000}
