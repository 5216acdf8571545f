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
        toUnixTimestamp64Micro(toDateTime64(e.timestamp, 6, 'UTC')) AS ts,
        e.uuid AS uuid
      FROM events AS e
      INNER JOIN person_distinct_ids_latest AS pdi
        ON pdi.project_id = e.project_id AND pdi.distinct_id = e.distinct_id
      WHERE
        e.project_id = {p0: Int64}
        AND (
          (
            e.event = {p1: String}
          )
        )
        AND e.timestamp >= fromUnixTimestamp64Micro({p2: Int64}, 'UTC')
        AND e.timestamp <= fromUnixTimestamp64Micro({p3: Int64}, 'UTC')
    ) AS a
    INNER JOIN (
      SELECT
        pdi.person_id AS person_id,
        toUnixTimestamp64Micro(toDateTime64(e.timestamp, 6, 'UTC')) AS ts,
        e.uuid AS uuid
      FROM events AS e
      INNER JOIN person_distinct_ids_latest AS pdi
        ON pdi.project_id = e.project_id AND pdi.distinct_id = e.distinct_id
      WHERE
        e.project_id = {p0: Int64}
        AND (
          (
            e.event = {p4: String}
          )
        )
        AND e.timestamp >= fromUnixTimestamp64Micro({p5: Int64}, 'UTC')
        AND e.timestamp <= fromUnixTimestamp64Micro({p6: Int64}, 'UTC')
    ) AS b
      ON a.person_id = b.person_id
    WHERE
      b.ts > a.ts AND b.ts <= a.ts + {p7: Int64}
  ) AS s
  UNION DISTINCT
  SELECT
    person_id
  FROM (
    SELECT
      person_id
    FROM (
      SELECT
        pdi.person_id AS person_id,
        toUnixTimestamp64Micro(toDateTime64(e.timestamp, 6, 'UTC')) AS ts,
        e.uuid AS uuid
      FROM events AS e
      INNER JOIN person_distinct_ids_latest AS pdi
        ON pdi.project_id = e.project_id AND pdi.distinct_id = e.distinct_id
      WHERE
        e.project_id = {p0: Int64} AND (
          (
            e.event = {p8: String}
          )
        )
    ) AS ev
    GROUP BY
      person_id
    HAVING
      MIN(ts) >= {p9: Int64} AND MIN(ts) <= {p10: Int64}
  ) AS s
) AS members
-- params: {"p0": 3, "p1": "signup", "p10": 1718452800000000, "p2": 1717848000000000, "p3": 1718452800000000, "p4": "purchase", "p5": 1717848000000000, "p6": 1718452800000000, "p7": 86400000000, "p8": "purchase", "p9": 1717848000000000}
