// The capture formats `ingest` knows, for --format and --help (no implementation imports here).
// jsonl: a scenario; qemu-log: QEMU `log` trace backend (VT-d vtd_* or SMMUv3 smmuv3_* events);
// ftrace: guest /sys/kernel/tracing/trace text (intel_iommu:qi_submit or the smmu:cmdlist kprobe);
// console: a guest serial console holding that text between @@@@ BEGIN/END GUEST TRACE markers.

export const INGEST_FORMATS = ['jsonl', 'qemu-log', 'ftrace', 'console'] as const;
export type IngestFormat = (typeof INGEST_FORMATS)[number];
