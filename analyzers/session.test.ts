// The session's relations: `trace` over several traces of both architectures (file column, the
// field columns of both), `traces` and `devices` from the headers, table names from file names,
// and bad inputs named in one line.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFault } from '../formats/result.js';
import { tempDir } from '../test/helpers.js';
import { tableRows } from './rows.js';
import { openSession, resolveInputs, tableNameOf, type Session } from './session.js';
import { scenarioTrace } from './testdata/fixtures.js';

const dir = tempDir();
const SMMU = join(dir, 'smmuv3-views.arrow');
const VTD = join(dir, '2-vtd views.arrow');
let s: Session;

beforeAll(async () => {
  await scenarioTrace(dir, 'smmuv3-views');
  await scenarioTrace(dir, 'vtd-views', '2-vtd views.arrow');
  s = await openSession([SMMU, VTD], { views: false });
});
afterAll(async () => {
  await (s as Session | undefined)?.close(); // beforeAll may have failed before setting it
});

describe('openSession', () => {
  it('names tables after their files', () => {
    expect(tableNameOf('/x/smmuv3-strict.arrow')).toBe('smmuv3_strict');
    expect(tableNameOf('host_ops.arrow')).toBe('host_ops');
    expect(tableNameOf('2-vtd views.arrow')).toBe('t_2_vtd_views');
    expect(s.files.map((f) => [f.table, f.rows])).toEqual([
      ['smmuv3_views', 19],
      ['t_2_vtd_views', 15],
    ]);
  });

  it('unites every trace in `trace`, with a file column and the fields of both architectures', async () => {
    const r = tableRows(
      await s.query(
        'SELECT file, arch, count(*) AS events, count(asid) AS with_asid, count(did) AS with_did, typeof(any_value(op)) AS op_type, typeof(any_value(w0)) AS w0_type FROM trace GROUP BY file, arch ORDER BY file',
      ),
    );
    // ASIDs: the three TLBI_NH_VA and the TLBI_NH_ASID; DIDs: every cc_inv and iotlb_inv (the field is present even when global).
    expect(r).toEqual([
      { file: VTD, arch: 'vtd', events: 15, with_asid: 0, with_did: 5, op_type: 'VARCHAR', w0_type: 'UBIGINT' },
      { file: SMMU, arch: 'smmuv3', events: 19, with_asid: 4, with_did: 0, op_type: 'VARCHAR', w0_type: 'UBIGINT' },
    ]);
  });

  it('describes the traces and their topology', async () => {
    expect(
      tableRows(
        await s.query('SELECT file, table_name, arch, queue_entries, desc_bytes, start_slot, events, devices FROM traces ORDER BY file'),
      ),
    ).toEqual([
      { file: VTD, table_name: 't_2_vtd_views', arch: 'vtd', queue_entries: 8, desc_bytes: 16, start_slot: 0, events: 15, devices: 3 },
      { file: SMMU, table_name: 'smmuv3_views', arch: 'smmuv3', queue_entries: 8, desc_bytes: 16, start_slot: 0, events: 19, devices: 3 },
    ]);
    expect(tableRows(await s.query(`SELECT sid, ats, domain FROM devices WHERE file = '${SMMU}' ORDER BY sid`))).toEqual([
      { sid: 0x10, ats: true, domain: 1 },
      { sid: 0x11, ats: true, domain: 1 },
      { sid: 0x20, ats: false, domain: 2 },
    ]);
  });

  it('loads a file named twice (directly and through its folder) once', () => {
    expect(resolveInputs([SMMU, dir, SMMU]).filter((f) => f.endsWith('smmuv3-views.arrow'))).toEqual([SMMU]);
  });

  it('names a missing input and a file that is not Arrow', async () => {
    const missing = join(dir, 'missing.arrow');
    await expect(openSession([missing])).rejects.toThrow(new InputFault({ file: missing, message: 'no such file or folder' }));
    const text = join(dir, 'notes.arrow');
    writeFileSync(text, 'not arrow at all\n');
    const e = await openSession([text]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputFault);
    expect((e as Error).message).toMatch(new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a readable Arrow IPC file`));
  });
});
