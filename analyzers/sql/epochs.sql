-- Module epochs: the stretches of commands between completion points (SMMUv3 CMD_SYNC, VT-d
-- inv_wait). Epoch k holds the commands written after the k-th completion point up to and
-- including the next one; commands after the last completion point form an open epoch.
-- Requires: trace

-- Each command with its epoch: the number of completion points written before it, and the
-- commands (completion points not counted) and invalidations written since the last completion
-- point up to it (`_epoch`, `_epoch_commands`, `_epoch_invalidations`: counted by the loader in its
-- pass over the trace, analyzers/sql-engine/derived-columns.ts); whether it is a completion point
-- (sync) or an invalidation, tested once here. Traces are told apart by file_id (_trace), which
-- DuckDB groups by far faster than the path.
CREATE OR REPLACE VIEW _epochs_commands AS
SELECT
  file_id,
  seq,
  op,
  coalesce(role = 'sync', false) AS sync,
  coalesce(role = 'invalidate', false) AS invalidation,
  _epoch AS epoch,
  _epoch_commands AS commands,
  _epoch_invalidations AS invalidations
FROM _trace
WHERE kind = 'cmd';

-- One row per epoch (epochs_by_completion by file_id), computed once per session: every epoch
-- view reads it. A completion point closes its epoch and carries what the epoch holds; the
-- commands after a trace's last completion point (its last command is no completion point) form
-- the open epoch, whose counts its last command carries (found by its seq: a join on one row per
-- trace costs DuckDB a third of picking the row's values with max_by over every command).
CREATE OR REPLACE TABLE _epochs AS
SELECT
  file_id,
  epoch,
  seq AS completion_seq,
  op AS completion_op,
  commands,
  invalidations
FROM _epochs_commands
WHERE sync
UNION ALL
SELECT
  c.file_id,
  c.epoch,
  NULL AS completion_seq,
  NULL AS completion_op,
  c.commands,
  c.invalidations
FROM _epochs_commands AS c
JOIN (SELECT file_id, max(seq) AS seq FROM _epochs_commands GROUP BY file_id) AS last USING (file_id, seq)
WHERE NOT c.sync;

-- One row per epoch: the completion point that closes it and the commands before it.
CREATE OR REPLACE VIEW epochs_by_completion(
  -- Trace file, as given to the session.
  file,
  -- Epoch number: 0 for the commands before the first completion point.
  epoch,
  -- Sequence number of the completion point closing the epoch; NULL for the open last epoch.
  completion_seq,
  -- Op of that completion point (CMD_SYNC, inv_wait); NULL for the open epoch.
  completion_op,
  -- Commands in the epoch, the completion point not counted.
  commands,
  -- Of them, invalidations.
  invalidations
) AS
SELECT
  f.file AS file,
  e.epoch::BIGINT AS epoch,
  e.completion_seq AS completion_seq,
  e.completion_op AS completion_op,
  e.commands::BIGINT AS commands,
  e.invalidations::BIGINT AS invalidations
FROM _epochs AS e
JOIN _trace_files AS f USING (file_id);

-- Epoch sizes: how many closed epochs held each number of commands.
CREATE OR REPLACE VIEW epochs_sizes(
  -- Trace file, as given to the session.
  file,
  -- Commands between two completion points.
  commands,
  -- Epochs of that size (closed ones only).
  epochs
) AS
SELECT
  f.file AS file,
  e.commands::BIGINT AS commands,
  e.epochs AS epochs
FROM (
  SELECT file_id, commands, count(*) AS epochs
  FROM _epochs
  WHERE completion_seq IS NOT NULL
  GROUP BY file_id, commands
) AS e
JOIN _trace_files AS f USING (file_id);

-- Per trace: completion points and the commands between them.
CREATE OR REPLACE VIEW epochs_summary(
  -- Trace file, as given to the session.
  file,
  -- Completion points (closed epochs).
  completion_points,
  -- Fewest commands before a completion point.
  min_commands,
  -- Mean commands per closed epoch.
  mean_commands,
  -- Most commands before a completion point.
  max_commands,
  -- Commands after the last completion point (never waited on).
  open_commands
) AS
SELECT
  f.file AS file,
  e.completion_points AS completion_points,
  e.min_commands AS min_commands,
  e.mean_commands AS mean_commands,
  e.max_commands AS max_commands,
  e.open_commands AS open_commands
FROM (
  SELECT
    file_id,
    count(completion_seq) AS completion_points,
    (min(commands) FILTER (WHERE completion_seq IS NOT NULL))::BIGINT AS min_commands,
    avg(commands::BIGINT) FILTER (WHERE completion_seq IS NOT NULL) AS mean_commands,
    (max(commands) FILTER (WHERE completion_seq IS NOT NULL))::BIGINT AS max_commands,
    coalesce(sum(commands) FILTER (WHERE completion_seq IS NULL), 0)::BIGINT AS open_commands
  FROM _epochs
  GROUP BY file_id
) AS e
JOIN _trace_files AS f USING (file_id);
