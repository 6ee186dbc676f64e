-- Module policy_compare: the policies of one replay side by side, from the summary table: the
-- verdict, the counts the mailing-list argument is about, and where each correct policy ranks.
-- An incorrect policy is never "cheapest": it has no rank and no best-of entry. hw-direct (and
-- its variants) is the lower bound, not a choice a VMM can make alone, so the "best" a policy is
-- set against is the best correct trapped policy (every other one).
-- Requires: summary

-- The summary with each policy's base name and whether it is a trapped (not hardware-direct) one.
CREATE OR REPLACE VIEW _policy_compare_summary AS
SELECT
  *,
  split_part(policy, ':', 1) <> 'hw-direct' AS trapped
FROM summary;

-- One row per policy: verdict, cost counts, latency, rank among the correct policies by
-- modelled time, and its modelled time and ioctls over the best correct trapped policy's.
CREATE OR REPLACE VIEW policy_compare_table(
  -- Policy with its variant.
  policy,
  -- True when the oracle found no violation.
  correct,
  -- Oracle findings.
  violations,
  -- Doorbell traps.
  traps,
  -- IOMMU_HWPT_INVALIDATE ioctls.
  ioctls,
  -- Commands written to physical queues.
  host_commands,
  -- Physical CMD_SYNCs / waits.
  host_syncs,
  -- ATS invalidations devices had to answer.
  device_invalidations,
  -- Total modelled µs.
  modeled_us,
  -- Median completion latency, µs.
  p50_us,
  -- 99th percentile completion latency, µs.
  p99_us,
  -- 1 for the correct policy with the least modelled time, 2 for the next, ...; NULL if incorrect.
  modeled_rank,
  -- modeled_us over the cheapest correct trapped policy's (1 for that policy).
  modeled_vs_best,
  -- ioctls over the fewest any correct trapped policy made (NULL when that is 0).
  ioctls_vs_best
) AS
WITH best AS (
  SELECT
    min(modeled_us) AS modeled_us,
    min(ioctls) AS ioctls
  FROM _policy_compare_summary
  WHERE correct = 1 AND trapped
)
SELECT
  s.policy AS policy,
  s.correct = 1 AS correct,
  s.violations AS violations,
  s.traps AS traps,
  s.ioctls AS ioctls,
  s.host_commands AS host_commands,
  s.host_syncs AS host_syncs,
  s.device_invalidations AS device_invalidations,
  s.modeled_us AS modeled_us,
  s.p50_us AS p50_us,
  s.p99_us AS p99_us,
  CASE WHEN s.correct = 1
    THEN rank() OVER (PARTITION BY s.correct = 1 ORDER BY s.modeled_us) END AS modeled_rank,
  s.modeled_us / nullif(b.modeled_us, 0) AS modeled_vs_best,
  s.ioctls / nullif(b.ioctls, 0) AS ioctls_vs_best
FROM _policy_compare_summary s, best b;

-- For each measure, the correct trapped policy that does best (least of it; ties: every such
-- policy), beside hw-direct's value, the lower bound.
CREATE OR REPLACE VIEW policy_compare_best(
  -- Measure: traps, ioctls, host_commands, modeled_us, p50_us, p99_us, max_us.
  metric,
  -- A correct trapped policy with the least of it.
  policy,
  -- Its value.
  value,
  -- Correct trapped policies compared.
  candidates,
  -- hw-direct's value (NULL when it was not replayed or is incorrect).
  hw_direct
) AS
WITH long AS (
  UNPIVOT (
    SELECT
      policy,
      traps::DOUBLE AS traps,
      ioctls::DOUBLE AS ioctls,
      host_commands::DOUBLE AS host_commands,
      modeled_us,
      p50_us,
      p99_us,
      max_us
    FROM _policy_compare_summary
    WHERE correct = 1 AND (trapped OR policy = 'hw-direct')
  )
  ON traps, ioctls, host_commands, modeled_us, p50_us, p99_us, max_us
  INTO NAME metric VALUE value
),
ranked AS (
  SELECT
    metric,
    policy,
    value,
    min(value) OVER (PARTITION BY metric) AS least,
    count(*) OVER (PARTITION BY metric) AS candidates
  FROM long
  WHERE policy <> 'hw-direct'
)
SELECT
  r.metric AS metric,
  r.policy AS policy,
  r.value AS value,
  r.candidates AS candidates,
  hw.value AS hw_direct
FROM ranked r
LEFT JOIN long hw ON hw.policy = 'hw-direct' AND hw.metric = r.metric
WHERE r.value = r.least;
