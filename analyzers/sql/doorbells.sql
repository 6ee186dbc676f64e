-- Module doorbells: what each doorbell (the guest's CMDQ_PROD or IQT write) published, and the
-- distribution of those batch sizes.
-- Requires: trace, traces, queues

-- Each doorbell with the producer value before it: the previous doorbell's on the same guest
-- queue (`_prev_slot`, `_prev_wrap`, taken by the loader in its pass over the trace:
-- analyzers/sql-engine/derived-columns.ts), or for the first one the queue's start slot with wrap
-- bit 0. Traces are told apart by file_id (_trace), which DuckDB joins on far faster than the path.
CREATE OR REPLACE VIEW _doorbells_prev AS
SELECT
  d.file_id,
  d.seq,
  d.ts_ns,
  d.slot::BIGINT AS prod,
  d.wrap::BIGINT AS wrap,
  q.queue_entries::BIGINT AS queue_entries,
  coalesce(d._prev_slot, q.start_slot)::BIGINT AS prev_prod,
  coalesce(d._prev_wrap, 0)::BIGINT AS prev_wrap
FROM _trace AS d
JOIN (
  SELECT f.file_id, q.queue, q.queue_entries, q.start_slot
  FROM queues AS q
  JOIN _trace_files AS f USING (file)
) AS q ON q.file_id = d.file_id AND q.queue = d.queue
WHERE d.kind = 'doorbell';

-- Each doorbell with the entries it published: the ring distance from the previous producer value,
-- counted on a ring of 2 x queue_entries positions (index and wrap bit), and whether they pass the
-- end of the ring. Computed once per session: every doorbell and wrap view reads it.
CREATE OR REPLACE TABLE _doorbells AS
SELECT
  file_id,
  seq,
  ts_ns,
  prod,
  wrap,
  prev_prod,
  entries,
  prev_prod + entries >= queue_entries AS wrapped
FROM (
  SELECT
    *,
    (wrap * queue_entries + prod - (prev_wrap * queue_entries + prev_prod) + 2 * queue_entries)
      % (2 * queue_entries) AS entries
  FROM _doorbells_prev
);

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
  d.prod AS prod,
  d.wrap AS wrap,
  d.prev_prod AS prev_prod,
  d.entries AS entries,
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
  b.entries AS entries,
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
  count(d.seq) AS doorbells,
  coalesce(sum(d.entries), 0)::BIGINT AS entries,
  min(d.entries) AS min_entries,
  avg(d.entries) AS mean_entries,
  max(d.entries) AS max_entries
FROM traces AS t
JOIN _trace_files AS f USING (file)
LEFT JOIN _doorbells AS d USING (file_id)
GROUP BY t.file;
