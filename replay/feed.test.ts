// Where a replayed guest ring sits: the recorded base when it can be, the default otherwise.

import { describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_BASE, PA_LIMIT, queueBase } from './feed.js';

// A 256-entry ring of 16-byte SMMUv3 commands: 4 KiB, so a base must be 4 KiB aligned.
const ring = (queue_base?: string) => ({
  queue_entries: 256,
  desc_bytes: 16 as const,
  ...(queue_base !== undefined ? { queue_base } : {}),
});

describe('queueBase', () => {
  it('keeps a recorded base aligned to the ring size', () => {
    expect(queueBase(ring('0x40f3000'))).toBe(0x40f3000n);
    expect(queueBase(ring('0x40f3800'))).toBe(DEFAULT_QUEUE_BASE); // 2 KiB aligned only
    expect(queueBase(ring())).toBe(DEFAULT_QUEUE_BASE);
  });

  it('keeps a base whose ring ends at the 52-bit limit of a physical address, not one past it', () => {
    const last = PA_LIMIT - 0x1000n; // the ring's 4 KiB end exactly at 2^52
    expect(queueBase(ring(`0x${last.toString(16)}`))).toBe(last);
    // One ring further would need addresses at and above 2^52, which replay's numbers hold exactly
    // only up to 2^53: no SMMUv3 or VT-d queue is there.
    expect(queueBase(ring(`0x${PA_LIMIT.toString(16)}`))).toBe(DEFAULT_QUEUE_BASE);
    expect(queueBase(ring('0xfffffffffffff000'))).toBe(DEFAULT_QUEUE_BASE);
  });
});
