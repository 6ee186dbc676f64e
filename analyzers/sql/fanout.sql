-- Module fanout: device-TLB invalidations (VT-d dev_tlb_inv and p_dev_tlb_inv, SMMUv3 ATC_INV)
-- per IOTLB invalidation. Each device-TLB invalidation belongs to the last IOTLB invalidation
-- written before it in the trace, completion points in between or not (Linux SMMUv3 syncs the
-- TLBI before it sends ATC_INV; Linux VT-d queues both before one wait).
-- Requires: trace

-- IOTLB and device-TLB invalidations, each with the IOTLB invalidation it follows (NULL before the
-- first one).
CREATE OR REPLACE VIEW _fanout_invalidations AS
SELECT
  file,
  seq,
  op,
  cache,
  sid,
  max(CASE WHEN cache = 'iotlb' THEN seq END)
    OVER (PARTITION BY file ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS iotlb_seq
FROM trace
WHERE kind = 'cmd' AND cache IN ('iotlb', 'atc', 'devtlb');

-- One row per IOTLB invalidation: the device-TLB invalidations written after it, before the next
-- IOTLB invalidation.
CREATE OR REPLACE VIEW fanout_by_iotlb(
  -- Trace file, as given to the session.
  file,
  -- Sequence number of the IOTLB invalidation.
  iotlb_seq,
  -- Its op (CMD_TLBI_NH_VA, iotlb_inv, p_iotlb_inv, ...).
  op,
  -- Device-TLB / ATC invalidations that follow it.
  devtlb_invalidations,
  -- Distinct devices (SID) those invalidations address.
  devices
) AS
SELECT
  file AS file,
  iotlb_seq AS iotlb_seq,
  any_value(op) FILTER (WHERE seq = iotlb_seq) AS op,
  count(*) FILTER (WHERE cache <> 'iotlb') AS devtlb_invalidations,
  count(DISTINCT sid) FILTER (WHERE cache <> 'iotlb') AS devices
FROM _fanout_invalidations
WHERE iotlb_seq IS NOT NULL
GROUP BY file, iotlb_seq;

-- Fan-out distribution: how many IOTLB invalidations were followed by each number of device-TLB
-- invalidations.
CREATE OR REPLACE VIEW fanout_histogram(
  -- Trace file, as given to the session.
  file,
  -- Device-TLB / ATC invalidations after one IOTLB invalidation.
  fanout,
  -- IOTLB invalidations with that fan-out.
  iotlb_invalidations
) AS
SELECT
  file AS file,
  devtlb_invalidations AS fanout,
  count(*) AS iotlb_invalidations
FROM fanout_by_iotlb
GROUP BY file, devtlb_invalidations;

-- Per trace: IOTLB and device-TLB invalidations and the fan-out between them.
CREATE OR REPLACE VIEW fanout_summary(
  -- Trace file, as given to the session.
  file,
  -- IOTLB invalidations.
  iotlb_invalidations,
  -- Device-TLB / ATC invalidations.
  devtlb_invalidations,
  -- Device-TLB / ATC invalidations written before any IOTLB invalidation (nothing to pair with).
  unpaired,
  -- Mean device-TLB invalidations per IOTLB invalidation.
  mean_fanout,
  -- Most device-TLB invalidations after one IOTLB invalidation.
  max_fanout
) AS
WITH per_iotlb AS (
  -- One row per IOTLB invalidation, plus one (iotlb_seq NULL) for the unpaired ones.
  SELECT file, iotlb_seq, count(*) FILTER (WHERE cache <> 'iotlb') AS n
  FROM _fanout_invalidations
  GROUP BY file, iotlb_seq
)
SELECT
  file AS file,
  count(iotlb_seq) AS iotlb_invalidations,
  sum(n)::BIGINT AS devtlb_invalidations,
  coalesce(sum(n) FILTER (WHERE iotlb_seq IS NULL), 0)::BIGINT AS unpaired,
  sum(n) FILTER (WHERE iotlb_seq IS NOT NULL) / nullif(count(iotlb_seq), 0) AS mean_fanout,
  max(n) FILTER (WHERE iotlb_seq IS NOT NULL) AS max_fanout
FROM per_iotlb
GROUP BY file;
