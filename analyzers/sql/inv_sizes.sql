-- Module inv_sizes: how much address space invalidations cover. An invalidation without a range
-- (range_bytes NULL) covers everything its tags select: a whole ASID/DID/VMID, a device's whole
-- ATC, or a cache that is not address-scoped (STE, CD, context, PASID, interrupt entries).
-- Requires: trace

-- Invalidations per trace, op, cache and range size (range_bytes; NULL: no range), with that
-- size's class: the smallest power of two of bytes holding the range. Grouped by size first, then
-- the class computed once per size: a trace holds few distinct sizes, and the class costs a log2
-- and a pow (per row, a third of this module's time on duckdb-wasm).
CREATE OR REPLACE VIEW _inv_sizes_ranges AS
SELECT
  file_id,
  op,
  cache,
  range_bytes,
  CASE
    WHEN range_bytes IS NOT NULL
      THEN pow(2, least(63, ceil(log2(range_bytes::DOUBLE))))::UBIGINT
  END AS bucket_bytes,
  invalidations,
  ranged,
  bytes
FROM (
  SELECT
    file_id,
    op,
    cache,
    range_bytes,
    count(*) AS invalidations,
    count(range_bytes) AS ranged,
    sum(range_bytes) AS bytes
  FROM _trace
  WHERE kind = 'cmd' AND role = 'invalidate'
  GROUP BY file_id, op, cache, range_bytes
);

-- Invalidations per trace, op, cache and size class, with their ranges' count, extremes and sum:
-- what both views add up, computed once per session.
CREATE OR REPLACE TABLE _inv_sizes AS
SELECT
  file_id,
  op,
  cache,
  bucket_bytes,
  sum(invalidations)::BIGINT AS invalidations,
  sum(ranged)::BIGINT AS ranged,
  min(range_bytes) AS min_bytes,
  max(range_bytes) AS max_bytes,
  sum(bytes) AS bytes
FROM _inv_sizes_ranges
GROUP BY file_id, op, cache, bucket_bytes;

-- Per op: invalidations of an address range, whole-scope invalidations, and the bytes covered.
CREATE OR REPLACE VIEW inv_sizes_by_op(
  -- Trace file, as given to the session.
  file,
  -- Architecture of the trace: smmuv3 or vtd.
  arch,
  -- Invalidation op.
  op,
  -- Cache it invalidates.
  cache,
  -- Invalidations of this op.
  invalidations,
  -- Of them, invalidations of an address range.
  ranged,
  -- Of them, invalidations of everything their tags select (no range).
  whole,
  -- Smallest range in bytes.
  min_bytes,
  -- Largest range in bytes.
  max_bytes,
  -- Bytes all ranges cover, summed.
  total_bytes
) AS
SELECT
  f.file AS file,
  f.arch AS arch,
  i.op AS op,
  i.cache AS cache,
  i.invalidations AS invalidations,
  i.ranged AS ranged,
  i.whole AS whole,
  i.min_bytes AS min_bytes,
  i.max_bytes AS max_bytes,
  i.total_bytes AS total_bytes
FROM (
  SELECT
    file_id,
    op,
    any_value(cache) AS cache,
    sum(invalidations)::BIGINT AS invalidations,
    sum(ranged)::BIGINT AS ranged,
    sum(invalidations)::BIGINT - sum(ranged)::BIGINT AS whole,
    min(min_bytes) AS min_bytes,
    max(max_bytes) AS max_bytes,
    coalesce(sum(bytes), 0)::UBIGINT AS total_bytes
  FROM _inv_sizes
  GROUP BY file_id, op
) AS i
JOIN _trace_files AS f USING (file_id);

-- Size distribution per cache: invalidations per power-of-two size class; the NULL class holds
-- the invalidations without a range.
CREATE OR REPLACE VIEW inv_sizes_histogram(
  -- Trace file, as given to the session.
  file,
  -- Cache invalidated (iotlb, atc, devtlb, ...).
  cache,
  -- Size class: the smallest power of two of bytes holding the range; NULL for whole-scope ones.
  bucket_bytes,
  -- Invalidations in the class.
  invalidations,
  -- Bytes their ranges cover, summed.
  bytes
) AS
SELECT
  f.file AS file,
  h.cache AS cache,
  h.bucket_bytes AS bucket_bytes,
  h.invalidations AS invalidations,
  h.bytes AS bytes
FROM (
  SELECT
    file_id,
    cache,
    bucket_bytes,
    sum(invalidations)::BIGINT AS invalidations,
    coalesce(sum(bytes), 0)::UBIGINT AS bytes
  FROM _inv_sizes
  GROUP BY file_id, cache, bucket_bytes
) AS h
JOIN _trace_files AS f USING (file_id);
