-- Module violation_context: the oracle's findings (the replay's violations table) set in the
-- trace they came from: the command's op and slot, the doorbell that published it, its place in
-- that doorbell and the commands around it, and the findings grouped by policy, kind and op.
-- The session holds the replayed trace and its result tables (`invtrace sql TRACE DIR`); result
-- tables do not name their trace, so with several traces loaded each finding is shown in each.
-- Requires: violations, trace

-- Doorbells in trace order.
CREATE OR REPLACE VIEW _violation_context_doorbells AS
SELECT
  file,
  seq AS doorbell_seq,
  slot AS prod,
  wrap
FROM trace
WHERE kind = 'doorbell';

-- Every command in trace order (n: its rank among commands), with the doorbell that published it
-- (the first doorbell after it; NULL if none did), its 1-based place among that doorbell's
-- commands, and the commands on either side of it.
CREATE OR REPLACE VIEW _violation_context_commands AS
WITH c AS (
  SELECT
    t.file,
    t.seq,
    t.slot,
    t.op,
    t.role,
    t.cache,
    t.error,
    row_number() OVER w AS n,
    lag(t.seq) OVER w AS prev_seq,
    lag(t.op) OVER w AS prev_op,
    lead(t.seq) OVER w AS next_seq,
    lead(t.op) OVER w AS next_op
  FROM trace t
  WHERE t.kind = 'cmd'
  WINDOW w AS (PARTITION BY t.file ORDER BY t.seq)
)
SELECT
  c.*,
  d.doorbell_seq,
  d.prod,
  d.wrap AS doorbell_wrap,
  CASE WHEN d.doorbell_seq IS NOT NULL
    THEN row_number() OVER (PARTITION BY c.file, d.doorbell_seq ORDER BY c.seq)
  END AS index_in_doorbell,
  CASE WHEN d.doorbell_seq IS NOT NULL
    THEN count(*) OVER (PARTITION BY c.file, d.doorbell_seq)
  END AS doorbell_commands
FROM c
ASOF LEFT JOIN _violation_context_doorbells d
  ON c.file = d.file AND c.seq <= d.doorbell_seq;

-- Each finding with the trace around it. A finding on a doorbell (a wrong consumer index seen
-- after it) has that doorbell as its own and no op.
CREATE OR REPLACE VIEW violation_context_rows(
  -- Trace file the context comes from, as given to the session.
  file,
  -- Policy with its variant.
  policy,
  -- Guest sequence number the finding names (a command, or the doorbell after which the guest
  -- state differed).
  seq,
  -- stale-translation, wrong-consumer-index, wrong-error, executed-past-error, never-completed.
  kind,
  -- Trace event at seq: cmd, doorbell or ack.
  event,
  -- The command's op (CMD_TLBI_NH_VA, dev_tlb_inv, ...); NULL for a doorbell.
  op,
  -- The command's queue slot (a doorbell: its new producer index).
  slot,
  -- What the command covers, as the oracle wrote it.
  scope,
  -- The oracle's one-line explanation.
  explanation,
  -- The doorbell that published the command (the finding's own seq for a doorbell).
  doorbell_seq,
  -- The command's 1-based place among that doorbell's commands.
  index_in_doorbell,
  -- Commands that doorbell published.
  doorbell_commands,
  -- The command written just before it: its seq and op.
  prev_seq,
  -- Op of the command written just before it.
  prev_op,
  -- The command written just after it: its seq.
  next_seq,
  -- Op of the command written just after it.
  next_op
) AS
SELECT
  f.file AS file,
  v.policy AS policy,
  v.seq AS seq,
  v.kind AS kind,
  t.kind AS event,
  c.op AS op,
  t.slot AS slot,
  v.scope AS scope,
  v.explanation AS explanation,
  CASE WHEN t.kind = 'doorbell' THEN v.seq ELSE c.doorbell_seq END AS doorbell_seq,
  c.index_in_doorbell AS index_in_doorbell,
  c.doorbell_commands AS doorbell_commands,
  c.prev_seq AS prev_seq,
  c.prev_op AS prev_op,
  c.next_seq AS next_seq,
  c.next_op AS next_op
FROM violations v
CROSS JOIN (SELECT DISTINCT file FROM trace) f
LEFT JOIN trace t ON t.file = f.file AND t.seq = v.seq
LEFT JOIN _violation_context_commands c ON c.file = f.file AND c.seq = v.seq;

-- Findings grouped by policy, kind and op: how many, over which commands and doorbells, and the
-- first one's explanation.
CREATE OR REPLACE VIEW violation_context_groups(
  -- Trace file the context comes from, as given to the session.
  file,
  -- Policy with its variant.
  policy,
  -- Kind of finding.
  kind,
  -- Op of the commands concerned (NULL: findings on doorbells).
  op,
  -- Findings in the group.
  violations,
  -- Distinct doorbells whose commands they concern.
  doorbells,
  -- First guest sequence number concerned.
  first_seq,
  -- Last guest sequence number concerned.
  last_seq,
  -- Explanation of the first finding of the group.
  example
) AS
SELECT
  file AS file,
  policy AS policy,
  kind AS kind,
  op AS op,
  count(*) AS violations,
  count(DISTINCT doorbell_seq) AS doorbells,
  min(seq) AS first_seq,
  max(seq) AS last_seq,
  arg_min(explanation, seq) AS example
FROM violation_context_rows
GROUP BY file, policy, kind, op;

-- The commands within `radius` places of each finding's command (offset 0 is the command itself),
-- for showing a finding in its stretch of the queue: SELECT * FROM violation_context_window(2).
CREATE OR REPLACE MACRO violation_context_window(radius) AS TABLE
SELECT
  c.file AS file,
  v.policy AS policy,
  v.seq AS violation_seq,
  v.kind AS kind,
  (c.n - vc.n)::INTEGER AS "offset",
  c.seq AS seq,
  c.slot AS slot,
  c.op AS op,
  c.role AS role,
  c.doorbell_seq AS doorbell_seq
FROM violations v
JOIN _violation_context_commands vc ON vc.seq = v.seq
JOIN _violation_context_commands c
  ON c.file = vc.file AND c.n BETWEEN vc.n - radius AND vc.n + radius;
