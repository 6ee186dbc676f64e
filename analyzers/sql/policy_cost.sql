-- Module policy_cost: what each mediation policy costs the VMM and the host, from the replay's
-- host_ops table: totals by kind of work, per guest event, per completion point, and ratios
-- against per-command (QEMU's accel mode today) and hw-direct (the lower bound). Costs are the
-- modelled µs of docs/results.md "Cost model". The session holds the replayed trace and its
-- result tables (`invtrace sql TRACE DIR`): doorbells are counted in `trace` (in every trace of
-- the session: result tables do not name their trace).
-- Requires: host_ops, completions, trace

-- host_ops with cost_us as an exact DECIMAL: the replay rounds it to 1/1000 µs, so sums come out
-- the same whatever order the engine adds them in.
CREATE OR REPLACE VIEW _policy_cost_ops AS
SELECT * REPLACE (cost_us::DECIMAL(18, 3) AS cost_us)
FROM host_ops;

-- Host work of each policy, kind by kind, with its share of the policy's modelled time.
CREATE OR REPLACE VIEW policy_cost_by_kind(
  -- Policy with its variant, e.g. 'linear-batch:split_on_wrap=true'.
  policy,
  -- Kind of work: trap, vmm_cmd, ioctl, host_cmd, host_sync, host_doorbell, devtlb_inv,
  -- direct_cmd (docs/results.md, host_ops).
  kind,
  -- Operations of that kind.
  ops,
  -- Invalidation entries passed to IOMMU_HWPT_INVALIDATE (ioctl rows; 0 for the others).
  entries,
  -- Bytes copied from user space (ioctl rows; 0 for the others).
  bytes,
  -- Modelled µs of that kind.
  cost_us,
  -- Its share of the policy's modelled time, 0 to 1.
  share
) AS
SELECT
  policy AS policy,
  kind AS kind,
  sum(count)::BIGINT AS ops,
  sum(entries)::BIGINT AS entries,
  sum(bytes)::BIGINT AS bytes,
  sum(cost_us)::DOUBLE AS cost_us,
  sum(cost_us)::DOUBLE / nullif(sum(sum(cost_us)) OVER (PARTITION BY policy), 0) AS share
FROM _policy_cost_ops
GROUP BY policy, kind;

-- One row per policy and guest event (doorbell or error acknowledgement) that caused work: what
-- that one event cost.
CREATE OR REPLACE VIEW policy_cost_by_event(
  -- Policy with its variant.
  policy,
  -- Guest sequence number of the doorbell or acknowledgement.
  seq,
  -- Doorbell traps (0 or 1; 0 when a hardware-direct queue took the doorbell).
  traps,
  -- Guest commands the VMM decoded and handled.
  vmm_commands,
  -- IOMMU_HWPT_INVALIDATE ioctls.
  ioctls,
  -- Commands written to physical queues.
  host_commands,
  -- Physical CMD_SYNCs / waits.
  host_syncs,
  -- ATS invalidations devices had to answer.
  device_invalidations,
  -- Guest commands a hardware-direct queue consumed.
  direct_commands,
  -- Modelled µs of all the work of this event.
  cost_us
) AS
SELECT
  policy AS policy,
  seq AS seq,
  coalesce(sum(count) FILTER (WHERE kind = 'trap'), 0)::BIGINT AS traps,
  coalesce(sum(count) FILTER (WHERE kind = 'vmm_cmd'), 0)::BIGINT AS vmm_commands,
  coalesce(sum(count) FILTER (WHERE kind = 'ioctl'), 0)::BIGINT AS ioctls,
  coalesce(sum(count) FILTER (WHERE kind = 'host_cmd'), 0)::BIGINT AS host_commands,
  coalesce(sum(count) FILTER (WHERE kind = 'host_sync'), 0)::BIGINT AS host_syncs,
  coalesce(sum(count) FILTER (WHERE kind = 'devtlb_inv'), 0)::BIGINT
    AS device_invalidations,
  coalesce(sum(count) FILTER (WHERE kind = 'direct_cmd'), 0)::BIGINT AS direct_commands,
  sum(cost_us)::DOUBLE AS cost_us
FROM _policy_cost_ops
GROUP BY policy, seq;

-- Doorbells that published completion points, per policy, with how many they published.
CREATE OR REPLACE VIEW _policy_cost_completion_doorbells AS
SELECT policy, doorbell_seq, count(*) AS points
FROM completions
GROUP BY policy, doorbell_seq;

-- Each event's work, attributed to the first doorbell at or after it that published a completion
-- point (work after the last such doorbell is left out: nothing waited on it).
CREATE OR REPLACE VIEW _policy_cost_epochs AS
SELECT
  d.policy,
  d.doorbell_seq,
  sum(e.cost_us::DECIMAL(18, 3)) AS cost_us,
  sum(e.ioctls) AS ioctls
FROM policy_cost_by_event e
ASOF JOIN _policy_cost_completion_doorbells d
  ON e.policy = d.policy AND e.seq <= d.doorbell_seq
GROUP BY d.policy, d.doorbell_seq;

-- Host work per completion point: the work of the guest events since the previous doorbell that
-- published a completion point, up to and including the one that published this one, shared
-- evenly by the completion points that doorbell published.
CREATE OR REPLACE VIEW policy_cost_by_completion(
  -- Policy with its variant.
  policy,
  -- Guest sequence number of the CMD_SYNC / wait descriptor.
  seq,
  -- The doorbell that published it.
  doorbell_seq,
  -- Invalidations it completed (published since the previous completion point).
  commands,
  -- Modelled µs of the host work attributed to it.
  cost_us,
  -- IOMMU_HWPT_INVALIDATE ioctls attributed to it (a fraction when its doorbell published
  -- several completion points).
  ioctls,
  -- Its completion latency (completions.latency_us); NULL if it never completed.
  latency_us
) AS
SELECT
  c.policy AS policy,
  c.seq AS seq,
  c.doorbell_seq AS doorbell_seq,
  c.commands AS commands,
  coalesce(p.cost_us, 0)::DOUBLE / d.points AS cost_us,
  coalesce(p.ioctls, 0) / d.points AS ioctls,
  c.latency_us AS latency_us
FROM completions c
JOIN _policy_cost_completion_doorbells d
  ON d.policy = c.policy AND d.doorbell_seq = c.doorbell_seq
LEFT JOIN _policy_cost_epochs p
  ON p.policy = c.policy AND p.doorbell_seq = c.doorbell_seq;

-- Per policy: its totals, per guest doorbell and per completion point.
CREATE OR REPLACE VIEW _policy_cost_per_policy AS
WITH policies AS (
  SELECT DISTINCT policy FROM completions
  UNION
  SELECT DISTINCT policy FROM host_ops
),
work AS (
  SELECT
    policy,
    sum(cost_us)::DOUBLE AS modeled_us,
    sum(count) FILTER (WHERE kind = 'trap') AS traps,
    sum(count) FILTER (WHERE kind = 'ioctl') AS ioctls,
    sum(count) FILTER (WHERE kind = 'host_cmd') AS host_commands,
    sum(count) FILTER (WHERE kind = 'host_sync') AS host_syncs,
    sum(count) FILTER (WHERE kind = 'devtlb_inv') AS device_invalidations
  FROM _policy_cost_ops
  GROUP BY policy
),
points AS (
  SELECT policy, count(*) AS completion_points FROM completions GROUP BY policy
)
SELECT
  p.policy,
  (SELECT count(*) FROM trace WHERE kind = 'doorbell') AS doorbells,
  coalesce(c.completion_points, 0) AS completion_points,
  coalesce(w.traps, 0)::BIGINT AS traps,
  coalesce(w.ioctls, 0)::BIGINT AS ioctls,
  coalesce(w.host_commands, 0)::BIGINT AS host_commands,
  coalesce(w.host_syncs, 0)::BIGINT AS host_syncs,
  coalesce(w.device_invalidations, 0)::BIGINT AS device_invalidations,
  coalesce(w.modeled_us, 0) AS modeled_us
FROM policies p
LEFT JOIN work w ON w.policy = p.policy
LEFT JOIN points c ON c.policy = p.policy;

-- Per policy: total host work, normalised per guest doorbell and per completion point, and set
-- against per-command and hw-direct on the same trace (NULL when that policy was not replayed).
CREATE OR REPLACE VIEW policy_cost_totals(
  -- Policy with its variant.
  policy,
  -- Doorbells the guest rang (trace rows of kind doorbell).
  doorbells,
  -- Completion points the guest published (CMD_SYNC / wait descriptors).
  completion_points,
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
  -- Total modelled µs of the VMM and host work.
  modeled_us,
  -- Modelled µs per guest doorbell.
  us_per_doorbell,
  -- ioctls per guest doorbell.
  ioctls_per_doorbell,
  -- Modelled µs per completion point.
  us_per_completion,
  -- ioctls per completion point.
  ioctls_per_completion,
  -- modeled_us over per-command's (below 1: cheaper than one ioctl per command).
  modeled_vs_per_command,
  -- ioctls over per-command's.
  ioctls_vs_per_command,
  -- modeled_us over hw-direct's (the lower bound: 1 or more).
  modeled_vs_hw_direct
) AS
SELECT
  p.policy AS policy,
  p.doorbells AS doorbells,
  p.completion_points AS completion_points,
  p.traps AS traps,
  p.ioctls AS ioctls,
  p.host_commands AS host_commands,
  p.host_syncs AS host_syncs,
  p.device_invalidations AS device_invalidations,
  p.modeled_us AS modeled_us,
  p.modeled_us / nullif(p.doorbells, 0) AS us_per_doorbell,
  p.ioctls / nullif(p.doorbells, 0) AS ioctls_per_doorbell,
  p.modeled_us / nullif(p.completion_points, 0) AS us_per_completion,
  p.ioctls / nullif(p.completion_points, 0) AS ioctls_per_completion,
  p.modeled_us / nullif(pc.modeled_us, 0) AS modeled_vs_per_command,
  p.ioctls / nullif(pc.ioctls, 0) AS ioctls_vs_per_command,
  p.modeled_us / nullif(hw.modeled_us, 0) AS modeled_vs_hw_direct
FROM _policy_cost_per_policy p
LEFT JOIN _policy_cost_per_policy pc ON pc.policy = 'per-command'
LEFT JOIN _policy_cost_per_policy hw ON hw.policy = 'hw-direct';
