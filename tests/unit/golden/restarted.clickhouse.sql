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
          AND e.timestamp <= fromUnixTimestamp64Micro({p2: Int64}, 'UTC')
      ) AS ev
    ) AS s
    INTERSECT DISTINCT
    SELECT
      person_id
    FROM (
      SELECT DISTINCT
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
          e.project_id = {p0: Int64}
          AND (
            (
              e.event = {p3: String}
            )
          )
          AND e.timestamp >= fromUnixTimestamp64Micro({p4: Int64}, 'UTC')
          AND e.timestamp <= fromUnixTimestamp64Micro({p5: Int64}, 'UTC')
      ) AS ev
    ) AS s
  ) AS s
  EXCEPT DISTINCT
  SELECT
    person_id
  FROM (
    SELECT DISTINCT
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
        e.project_id = {p0: Int64}
        AND (
          (
            e.event = {p6: String}
          )
        )
        AND e.timestamp >= fromUnixTimestamp64Micro({p7: Int64}, 'UTC')
        AND e.timestamp <= fromUnixTimestamp64Micro({p8: Int64}, 'UTC')
    ) AS ev
  ) AS s
) AS members
-- params: {"p0": 3, "p1": "$pageview", "p2": 1715860799999999, "p3": "$pageview", "p4": 1717848000000000, "p5": 1718452800000000, "p6": "$pageview", "p7": 1715860800000000, "p8": 1717847999999999}
