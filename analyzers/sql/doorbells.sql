-- Module doorbells: what each doorbell (the guest's CMDQ_PROD or IQT write) published, and the
-- distribution of those batch sizes.
-- Requires: trace, traces

-- Each doorbell on one of the trace's guest queues (`queues`) with the entries it published: the
-- producer value before it (the previous doorbell's on the same queue, or the queue's start slot
-- with wrap bit 0), the ring distance from there, counted on a ring of 2 x queue_entries positions
-- (index and wrap bit), and whether they pass the end of the ring (such a doorbell carries its
-- lap, at least itself: `_lap_doorbells` > 0). All of it taken by the loader in its pass over the
-- trace from the header's queue geometry (`_prev_prod`, `_entries`, `_lap_doorbells`:
-- analyzers/sql-engine/derived-columns.ts), so no window, lag or join here; a
-- doorbell on a queue the header lacks has no `_prev_prod` and no row. Traces are told apart by
-- file_id (_trace), which DuckDB joins on far faster than the path. Computed once per session:
-- every doorbell and wrap view reads it.
CREATE OR REPLACE TABLE _doorbells AS
SELECT
  file_id,
  seq,
  ts_ns,
  slot AS prod,
  wrap AS wrap,
  _prev_prod AS prev_prod,
  _entries AS entries,
  CASE WHEN _entries IS NOT NULL THEN _lap_doorbells > 0 END AS wrapped
FROM _trace
WHERE _prev_prod IS NOT NULL;

-- One row per doorbell: the new producer index and how many entries it published.
CREATE OR REPLACE VIEW doorbells_published(
  -- Trace file, as given to the session.
  file,
  -- Sequence number of the doorbell row in the trace.
  seq,
  -- Timestamp of the doorbell in ns, when the source had one.
  ts_ns,
  -- New producer index (CMDQ_PROD.WR / IQT in slots).
  prod,
  -- Wrap bit of the new producer value.
  wrap,
  -- Producer index before this doorbell.
  prev_prod,
  -- Entries this doorbell published (0: the producer did not move).
  entries,
  -- True when the published entries pass the end of the ring (the index wrapped).
  wrapped
) AS
SELECT
  f.file AS file,
  d.seq AS seq,
  d.ts_ns AS ts_ns,
  d.prod::BIGINT AS prod,
  d.wrap::BIGINT AS wrap,
  d.prev_prod::BIGINT AS prev_prod,
  d.entries::BIGINT AS entries,
  d.wrapped AS wrapped
FROM _doorbells AS d
JOIN _trace_files AS f USING (file_id);

-- Doorbell batch sizes: how many doorbells published each number of entries.
CREATE OR REPLACE VIEW doorbells_batch_sizes(
  -- Trace file, as given to the session.
  file,
  -- Entries published by one doorbell.
  entries,
  -- Doorbells that published that many.
  doorbells
) AS
SELECT
  f.file AS file,
  b.entries::BIGINT AS entries,
  b.doorbells AS doorbells
FROM (SELECT file_id, entries, count(*) AS doorbells FROM _doorbells GROUP BY file_id, entries) AS b
JOIN _trace_files AS f USING (file_id);

-- Per trace: doorbells and entries per doorbell, as `invtrace info` reports them
-- (entries_per_doorbell); a trace without doorbells has a row of zeros and NULLs.
CREATE OR REPLACE VIEW doorbells_summary(
  -- Trace file, as given to the session.
  file,
  -- Doorbells in the trace.
  doorbells,
  -- Entries all doorbells published.
  entries,
  -- Fewest entries one doorbell published.
  min_entries,
  -- Mean entries per doorbell.
  mean_entries,
  -- Most entries one doorbell published.
  max_entries
) AS
SELECT
  t.file AS file,
  coalesce(d.doorbells, 0) AS doorbells,
  coalesce(d.entries, 0)::BIGINT AS entries,
  d.min_entries AS min_entries,
  d.mean_entries AS mean_entries,
  d.max_entries AS max_entries
FROM traces AS t
JOIN _trace_files AS f USING (file)
-- Grouped by file_id before the join: an integer key, far cheaper for DuckDB than the path.
LEFT JOIN (
  SELECT
    file_id,
    count(seq) AS doorbells,
    sum(entries) AS entries,
    min(entries)::BIGINT AS min_entries,
    avg(entries::BIGINT) AS mean_entries,
    max(entries)::BIGINT AS max_entries
  FROM _doorbells
  GROUP BY file_id
) AS d USING (file_id);
