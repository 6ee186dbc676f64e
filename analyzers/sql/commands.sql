-- Module commands: how many commands a trace holds, per op and per guest domain.
-- Requires: trace

-- Commands per op of each trace: the counts `invtrace info` prints (by_op).
CREATE OR REPLACE VIEW commands_by_op(
  -- Trace file, as given to the session.
  file,
  -- Architecture of the trace: smmuv3 or vtd.
  arch,
  -- Command name (SMMUv3 CMD_*, VT-d qi_submit type); '(unknown)' when the source could not tell it.
  op,
  -- invalidate, sync (a completion point) or other; '(unknown)' with op.
  role,
  -- Cache the op invalidates (iotlb, atc, devtlb, ste, cd, context, pasid, iec); NULL if none.
  cache,
  -- Commands of this op.
  commands,
  -- Of them, commands the hardware would refuse (CERROR_ILL, IQE).
  refused
) AS
SELECT
  f.file AS file,
  f.arch AS arch,
  c.op AS op,
  c.role AS role,
  c.cache AS cache,
  c.commands AS commands,
  c.refused AS refused
FROM (
  -- Grouped by file_id (_trace): an integer key, far cheaper for DuckDB than the path. The
  -- commands are grouped by op and role as they are, then the few groups by the names shown:
  -- '(unknown)' for a NULL computed once per group instead of once per command.
  SELECT
    file_id,
    coalesce(op, '(unknown)') AS op,
    coalesce(role, '(unknown)') AS role,
    any_value(cache) AS cache,
    sum(commands)::BIGINT AS commands,
    sum(refused)::BIGINT AS refused
  FROM (
    SELECT
      file_id,
      op,
      role,
      any_value(cache) AS cache,
      count(*) AS commands,
      count(error) AS refused
    FROM _trace
    WHERE kind = 'cmd'
    GROUP BY file_id, op, role
  )
  GROUP BY file_id, coalesce(op, '(unknown)'), coalesce(role, '(unknown)')
) AS c
JOIN _trace_files AS f USING (file_id);

-- Each command with the guest domain it names: the ASID of an SMMUv3 TLB invalidation (with its
-- VMID), the DID of a VT-d descriptor unless its granularity is global (cc_inv/iotlb_inv G=1,
-- pc_inv G=3). Commands that name no domain (syncs, ATC/device-TLB, STE/CD) have a NULL domain.
CREATE OR REPLACE VIEW _commands_domain AS
SELECT
  file_id,
  file,
  arch,
  seq,
  op,
  role,
  cache,
  range_bytes,
  CASE WHEN arch = 'smmuv3' THEN 'asid' ELSE 'did' END AS tag,
  CASE WHEN arch = 'smmuv3' AND asid IS NOT NULL THEN vmid END AS vmid,
  CASE
    WHEN arch = 'smmuv3' THEN asid
    WHEN op IN ('cc_inv', 'iotlb_inv') AND g = 1 THEN NULL
    WHEN op = 'pc_inv' AND g = 3 THEN NULL
    ELSE did
  END AS domain
FROM _trace
WHERE kind = 'cmd';

-- Commands per guest domain (SMMUv3 VMID+ASID, VT-d DID) of each trace; commands that name no
-- domain are left out.
CREATE OR REPLACE VIEW commands_by_domain(
  -- Trace file, as given to the session.
  file,
  -- Architecture of the trace: smmuv3 or vtd.
  arch,
  -- Which tag the domain is: asid (SMMUv3) or did (VT-d).
  tag,
  -- SMMUv3: the VMID field of the commands; NULL for VT-d.
  vmid,
  -- The ASID or DID.
  domain,
  -- Commands naming this domain.
  commands,
  -- Of them, IOTLB invalidations.
  iotlb,
  -- Of them, invalidations of an address range (range_bytes known).
  ranged,
  -- Bytes the ranged invalidations cover, summed.
  bytes
) AS
SELECT
  f.file AS file,
  f.arch AS arch,
  d.tag AS tag,
  d.vmid AS vmid,
  d.domain AS domain,
  d.commands AS commands,
  d.iotlb AS iotlb,
  d.ranged AS ranged,
  d.bytes AS bytes
FROM (
  SELECT
    file_id,
    tag,
    vmid,
    domain,
    count(*) AS commands,
    count(*) FILTER (WHERE cache = 'iotlb') AS iotlb,
    count(range_bytes) AS ranged,
    coalesce(sum(range_bytes), 0)::UBIGINT AS bytes
  FROM _commands_domain
  WHERE domain IS NOT NULL
  GROUP BY file_id, tag, vmid, domain
) AS d
JOIN _trace_files AS f USING (file_id);
