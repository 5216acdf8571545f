SELECT DISTINCT
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
      e.project_id = {p0: Int64}
      AND (
        (
          e.event = {p1: String}
          AND COALESCE(
            positionUTF8(
              multiIf(
                JSONType(e.properties, {p2: String}) = 'String',
                JSONExtractString(e.properties, {p2: String}),
                JSONType(e.properties, {p2: String}) = 'Null',
                NULL,
                JSONExtractRaw(e.properties, {p2: String})
              ),
              {p3: String}
            ) > 0,
            0
          )
        )
      )
      AND NOT COALESCE(
        (
          multiIf(
            JSONType(e.properties, {p4: String}) = 'String',
            JSONExtractString(e.properties, {p4: String}),
            JSONType(e.properties, {p4: String}) = 'Null',
            NULL,
            JSONExtractRaw(e.properties, {p4: String})
          ) IN ({p5: String})
        ),
        0
      )
      AND e.timestamp >= fromUnixTimestamp64Micro({p6: Int64}, 'UTC')
      AND e.timestamp <= fromUnixTimestamp64Micro({p7: Int64}, 'UTC')
  ) AS ev
  GROUP BY
    person_id
  HAVING
    COUNT(*) >= {p8: Int64}
) AS members
-- params: {"p0": 3, "p1": "$pageview", "p2": "$current_url", "p3": "/pricing", "p4": "$os", "p5": "Linux", "p6": 1715860800000000, "p7": 1718452800000000, "p8": 3}
