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
        CASE WHEN ts < {p4: Int64} THEN 0 WHEN ts < {p5: Int64} THEN 1 ELSE 2 END AS period
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
      ) AS ev
      GROUP BY
        person_id,
        CASE WHEN ts < {p4: Int64} THEN 0 WHEN ts < {p5: Int64} THEN 1 ELSE 2 END
      HAVING
        COUNT(*) >= {p6: Int64}
    ) AS periods
    GROUP BY
      person_id
    HAVING
      COUNT(*) >= {p7: Int64}
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
          multiIf(
            match(
              multiIf(
                JSONType(properties, {p8: String}) = 'String',
                JSONExtractString(properties, {p8: String}),
                JSONType(properties, {p8: String}) = 'Null',
                NULL,
                JSONExtractRaw(properties, {p8: String})
              ),
              '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})$'
            )
            OR match(
              multiIf(
                JSONType(properties, {p8: String}) = 'String',
                JSONExtractString(properties, {p8: String}),
                JSONType(properties, {p8: String}) = 'Null',
                NULL,
                JSONExtractRaw(properties, {p8: String})
              ),
              '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?)?$'
            ),
            toUnixTimestamp64Micro(
              parseDateTime64BestEffort(
                multiIf(
                  JSONType(properties, {p8: String}) = 'String',
                  JSONExtractString(properties, {p8: String}),
                  JSONType(properties, {p8: String}) = 'Null',
                  NULL,
                  JSONExtractRaw(properties, {p8: String})
                ),
                6,
                'UTC'
              )
            ),
            match(
              multiIf(
                JSONType(properties, {p8: String}) = 'String',
                JSONExtractString(properties, {p8: String}),
                JSONType(properties, {p8: String}) = 'Null',
                NULL,
                JSONExtractRaw(properties, {p8: String})
              ),
              '^-?[0-9]{1,12}$'
            ),
            toInt64OrNull(
              multiIf(
                JSONType(properties, {p8: String}) = 'String',
                JSONExtractString(properties, {p8: String}),
                JSONType(properties, {p8: String}) = 'Null',
                NULL,
                JSONExtractRaw(properties, {p8: String})
              )
            ) * 1000000,
            NULL
          ) < {p9: Int64}
        ),
        0
      )
  ) AS s
) AS members
-- params: {"p0": 3, "p1": "login", "p2": 1716638400000000, "p3": 1718452800000000, "p4": 1717243200000000, "p5": 1717848000000000, "p6": 2, "p7": 2, "p8": "signup_date", "p9": 1715860800000000}
