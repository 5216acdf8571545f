SELECT DISTINCT
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
      e.project_id = $p0
      AND (
        (
          e.event = $p1 AND COALESCE(STRPOS(e.properties ->> $p2, $p3) > 0, FALSE)
        )
      )
      AND NOT COALESCE((
        (
          e.properties ->> $p4
        ) IN ($p5)
      ), FALSE)
      AND e.timestamp >= (
        CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p6)
      )
      AND e.timestamp <= (
        CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ) + TO_MICROSECONDS($p7)
      )
  ) AS ev
  GROUP BY
    person_id
  HAVING
    COUNT(*) >= $p8
) AS members
-- params: {"p0": 3, "p1": "$pageview", "p2": "$.\"$current_url\"", "p3": "/pricing", "p4": "$.\"$os\"", "p5": "Linux", "p6": 1715860800000000, "p7": 1718452800000000, "p8": 3}
