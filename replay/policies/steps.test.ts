// VmmState's walk plans: kept per decoded command for the walk options they were made under; a
// walk with other options (a state handed to two walks) starts the table again, so a plan made
// for one set of options never answers for another.
import { describe, expect, it } from 'vitest';
import { SMMUV3 } from '../../formats/codecs.js';
import { DecodeCache } from '../decode-cache.js';
import { NO_GROUPS, NO_INVS, VmmState, type WalkPlan } from './steps.js';

const cache = new DecodeCache(SMMUV3);
const tlbi = cache.decode([0x12n | (1n << 48n), 0x1000n]);
const sync = cache.decode([0x46n, 0n]);
const plan = (owner: WalkPlan['owner']): WalkPlan => ({ owner, invs: NO_INVS, groups: NO_GROUPS });

describe('VmmState plans', () => {
  it('answers a kept plan for the same command and options only', () => {
    const st = new VmmState();
    const a = {};
    const b = {};
    expect(st.planOf(tlbi, a)).toBeUndefined();
    const p = st.keepPlan(tlbi, plan('host'));
    expect(st.planOf(tlbi, a)).toBe(p);
    expect(st.planOf(sync, a)).toBeUndefined(); // another command
    expect(st.planOf(tlbi, b)).toBeUndefined(); // other options: the table starts again
    st.keepPlan(tlbi, plan('illegal'));
    expect(st.planOf(tlbi, a)).toBeUndefined(); // and again for the first options: nothing of b's
  });
});
