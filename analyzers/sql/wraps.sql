-- Module wraps: how often the guest's producer index wraps around the ring.
-- Requires: doorbells, trace, traces

-- One row per wrap: the doorbell that carried the producer index past the end of the ring, and
-- the doorbells and entries since the previous wrap.
CREATE OR REPLACE VIEW wraps_events(
  -- Trace file, as given to the session.
  file,
  -- Which wrap of the trace this is: 1, 2, ...
  wrap_number,
  -- Sequence number of the doorbell that wrapped.
  seq,
  -- Timestamp of that doorbell in ns, when known.
  ts_ns,
  -- Producer index after the wrap.
  prod,
  -- Wrap bit after the wrap.
  wrap,
  -- Doorbells since the previous wrap (or the trace start), this one included.
  doorbells,
  -- Entries published since the previous wrap, this doorbell's included.
  entries
) AS
-- Each doorbell that wrapped carries the doorbells and entries since the trace's previous wrap, taken
-- by the loader in its pass (`_lap_doorbells`, at least 1 there, and `_lap_entries`:
-- analyzers/sql-engine/derived-columns.ts; doorbells.sql's rule for a wrap): the view reads those
-- few rows and numbers them, where joining every doorbell to the wrap after it cost a sort of all
-- of them. Doorbells after the last wrap belong to none, nor do those whose entries are unknown (a
-- NULL producer value).
SELECT
  f.file AS file,
  row_number() OVER (PARTITION BY w.file_id ORDER BY w.seq) AS wrap_number,
  w.seq AS seq,
  w.ts_ns AS ts_ns,
  w.slot::BIGINT AS prod,
  w.wrap::BIGINT AS wrap,
  w._lap_doorbells::BIGINT AS doorbells,
  w._lap_entries::BIGINT AS entries
FROM _trace AS w
JOIN _trace_files AS f USING (file_id)
WHERE w._lap_doorbells > 0;

-- Per trace: how often the ring wraps (the `wraps` of `invtrace info`), in doorbells, entries and
-- time.
CREATE OR REPLACE VIEW wraps_summary(
  -- Trace file, as given to the session.
  file,
  -- Slots in the guest queue.
  queue_entries,
  -- Doorbells in the trace.
  doorbells,
  -- Times the producer index passed the end of the ring.
  wraps,
  -- Doorbells per wrap (NULL without wraps).
  doorbells_per_wrap,
  -- Entries published per wrap (NULL without wraps).
  entries_per_wrap,
  -- Time from the first to the last doorbell with a timestamp, in seconds (NULL without timestamps).
  seconds,
  -- Wraps per second over that time (NULL without timestamps or time).
  wraps_per_second
) AS
SELECT
  t.file AS file,
  t.queue_entries AS queue_entries,
  coalesce(d.doorbells, 0) AS doorbells,
  coalesce(d.wraps, 0) AS wraps,
  d.doorbells / nullif(d.wraps, 0) AS doorbells_per_wrap,
  d.entries / nullif(d.wraps, 0) AS entries_per_wrap,
  (d.last_ns - d.first_ns) / 1e9 AS seconds,
  d.wraps / nullif((d.last_ns - d.first_ns) / 1e9, 0) AS wraps_per_second
FROM traces AS t
JOIN _trace_files AS f USING (file)
LEFT JOIN (
  SELECT
    file_id,
    count(seq) AS doorbells,
    count(*) FILTER (WHERE wrapped) AS wraps,
    sum(entries::BIGINT) AS entries,
    min(ts_ns) AS first_ns,
    max(ts_ns) AS last_ns
  FROM _doorbells
  GROUP BY file_id
) AS d USING (file_id);
