// Codec throughput: decodes (with validation and scope) per second on the real command mix.

import { classify } from '../formats/classify.js';
import { SMMUV3, VTD } from '../formats/codecs.js';
import { timeIt, type Bench } from './harness.js';

const N = 200_000;

export const benches: readonly Bench[] = [
  {
    name: 'codec',
    async run() {
      const smmu = [
        [0x1000000000012n, 0xffff6701n],
        [0x46n | (2n << 12n) | (3n << 22n) | (0xfn << 24n), 0n],
      ];
      const vtd = [
        [0x600f2n, 0xffff8000n],
        [0x10000000003n, 0xffff8000n],
        [0x200000025n, 0x1046194n],
      ];
      const s = await timeIt(() => {
        for (let i = 0; i < N; i++) classify(SMMUV3.decode(smmu[i & 1]!));
      });
      const v = await timeIt(() => {
        for (let i = 0; i < N; i++) classify(VTD.decode(vtd[i % 3]!));
      });
      return [
        { name: 'SMMUv3 decode+classify', value: N / s.seconds, unit: 'cmd/s' },
        { name: 'VT-d decode+classify', value: N / v.seconds, unit: 'desc/s' },
      ];
    },
  },
];
