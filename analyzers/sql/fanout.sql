-- Module fanout: device-TLB invalidations (VT-d dev_tlb_inv and p_dev_tlb_inv, SMMUv3 ATC_INV)
-- per IOTLB invalidation. Each device-TLB invalidation belongs to the last IOTLB invalidation
-- written before it in the trace, completion points in between or not (Linux SMMUv3 syncs the
-- TLBI before it sends ATC_INV; Linux VT-d queues both before one wait).
-- Requires: trace

-- One row per IOTLB invalidation, with the device-TLB invalidations after it and the distinct
-- devices (SID) they address (`_fanout_devtlbs`, `_fanout_devices`: counted by the loader in its
-- pass over the trace, analyzers/sql-engine/derived-columns.ts), plus one (iotlb_seq NULL) per
-- trace for those before the first IOTLB invalidation (`_iotlb_number` 0; no view shows their
-- devices). Traces are told apart by file_id (_trace). Computed once per session: every fanout
-- view reads it.
CREATE OR REPLACE TABLE _fanout AS
SELECT
  file_id,
  seq AS iotlb_seq,
  op,
  _fanout_devtlbs AS devtlb_invalidations,
  _fanout_devices AS devices
FROM _trace
WHERE kind = 'cmd' AND cache = 'iotlb'
UNION ALL
SELECT
  file_id,
  NULL AS iotlb_seq,
  NULL AS op,
  count(*)::UINTEGER AS devtlb_invalidations,
  NULL AS devices
FROM _trace
WHERE kind = 'cmd' AND cache IN ('atc', 'devtlb') AND _iotlb_number = 0
GROUP BY file_id;

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
  f.file AS file,
  i.iotlb_seq AS iotlb_seq,
  i.op AS op,
  i.devtlb_invalidations::BIGINT AS devtlb_invalidations,
  i.devices::BIGINT AS devices
FROM _fanout AS i
JOIN _trace_files AS f USING (file_id)
WHERE i.iotlb_seq IS NOT NULL;

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
  f.file AS file,
  h.fanout::BIGINT AS fanout,
  h.iotlb_invalidations AS iotlb_invalidations
FROM (
  SELECT file_id, devtlb_invalidations AS fanout, count(*) AS iotlb_invalidations
  FROM _fanout
  WHERE iotlb_seq IS NOT NULL
  GROUP BY file_id, devtlb_invalidations
) AS h
JOIN _trace_files AS f USING (file_id);

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
SELECT
  f.file AS file,
  s.iotlb_invalidations AS iotlb_invalidations,
  s.devtlb_invalidations AS devtlb_invalidations,
  s.unpaired AS unpaired,
  s.mean_fanout AS mean_fanout,
  s.max_fanout AS max_fanout
FROM (
  SELECT
    file_id,
    count(iotlb_seq) AS iotlb_invalidations,
    sum(devtlb_invalidations)::BIGINT AS devtlb_invalidations,
    coalesce(sum(devtlb_invalidations) FILTER (WHERE iotlb_seq IS NULL), 0)::BIGINT AS unpaired,
    sum(devtlb_invalidations::BIGINT) FILTER (WHERE iotlb_seq IS NOT NULL) / nullif(count(iotlb_seq), 0) AS mean_fanout,
    (max(devtlb_invalidations) FILTER (WHERE iotlb_seq IS NOT NULL))::BIGINT AS max_fanout
  FROM _fanout
  GROUP BY file_id
) AS s
JOIN _trace_files AS f USING (file_id);
