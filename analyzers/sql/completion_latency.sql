-- Module completion_latency: how long the guest waits at its completion points (CMD_SYNC, VT-d
-- wait descriptor) under each policy: the modelled time from the doorbell that published one to
-- its completion (completions.latency_us). Percentiles are nearest-rank, as the summary table's
-- p50_us / p99_us: the value at rank ceil(p * n) of the n completed points.
-- Requires: completions

-- Per policy: completion points, those that never completed, and the latency distribution.
CREATE OR REPLACE VIEW completion_latency_summary(
  -- Policy with its variant.
  policy,
  -- Completion points the guest published.
  completion_points,
  -- Of them, completed by the policy.
  completed,
  -- Completed by bare hardware but never by the policy (the oracle's never-completed).
  never_completed,
  -- Shortest latency, µs.
  min_us,
  -- Mean latency, µs.
  mean_us,
  -- Median latency, µs.
  p50_us,
  -- 90th percentile, µs.
  p90_us,
  -- 99th percentile, µs.
  p99_us,
  -- Longest latency, µs.
  max_us
) AS
WITH s AS (
  SELECT
    policy,
    count(*) AS points,
    count(latency_us) AS n,
    count(*) FILTER (WHERE completed = 0 AND ref_completed = 1) AS never,
    -- latency_us is rounded to 1/1000 µs: an exact DECIMAL sum, the same in any order
    avg(latency_us::DECIMAL(18, 3))::DOUBLE AS mean_us,
    list_sort(list(latency_us) FILTER (WHERE latency_us IS NOT NULL)) AS l
  FROM completions
  GROUP BY policy
)
SELECT
  policy AS policy,
  points AS completion_points,
  n AS completed,
  never AS never_completed,
  l[1] AS min_us,
  mean_us AS mean_us,
  l[greatest(1, ceil(0.50::DOUBLE * n))::BIGINT] AS p50_us,
  l[greatest(1, ceil(0.90::DOUBLE * n))::BIGINT] AS p90_us,
  l[greatest(1, ceil(0.99::DOUBLE * n))::BIGINT] AS p99_us,
  l[n] AS max_us
FROM s;

-- Each completed point with its 1-2-5 latency bucket: [1, 2), [2, 5), [5, 10), [10, 20) µs and
-- so on in every decade; bucket = 3 * decade + step (0, 1, 2). A zero latency has no bucket.
CREATE OR REPLACE VIEW _completion_latency_bucketed AS
WITH d AS (
  SELECT
    policy,
    latency_us,
    -- log10 may land a hair off an exact power of ten: correct the decade by comparison.
    floor(log10(latency_us))::INTEGER AS d0
  FROM completions
  WHERE latency_us > 0
),
dec AS (
  SELECT
    policy,
    latency_us,
    CASE
      WHEN latency_us >= pow(10, d0 + 1) THEN d0 + 1
      WHEN latency_us < pow(10, d0) THEN d0 - 1
      ELSE d0
    END AS decade
  FROM d
)
SELECT
  policy,
  latency_us,
  decade,
  CASE
    WHEN latency_us >= 5 * pow(10, decade) THEN 2
    WHEN latency_us >= 2 * pow(10, decade) THEN 1
    ELSE 0
  END AS step
FROM dec;

-- Latency histogram per policy in 1-2-5 buckets (the same edges for every policy, so they can
-- be drawn side by side); only buckets that hold a completion point are listed.
CREATE OR REPLACE VIEW completion_latency_histogram(
  -- Policy with its variant.
  policy,
  -- Bucket number, 3 * decade + step: 0 is [1, 2) µs, 1 [2, 5), 2 [5, 10), 3 [10, 20), -1 [0.5, 1).
  bucket,
  -- Lower edge, µs (inclusive).
  lower_us,
  -- Upper edge, µs (exclusive).
  upper_us,
  -- Completion points whose latency falls in the bucket.
  completion_points,
  -- Their share of the policy's completed points, 0 to 1.
  share
) AS
SELECT
  policy AS policy,
  3 * decade + step AS bucket,
  [1, 2, 5][step + 1] * pow(10, decade) AS lower_us,
  [2, 5, 10][step + 1] * pow(10, decade) AS upper_us,
  count(*) AS completion_points,
  count(*) / sum(count(*)) OVER (PARTITION BY policy) AS share
FROM _completion_latency_bucketed
GROUP BY policy, decade, step;
