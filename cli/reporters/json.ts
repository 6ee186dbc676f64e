// The comparison as JSON (DESIGN.md "Command line": {"trace", "policies": [{"policy", "correct",
// "violations", "traps", "ioctls", "host_commands", "host_syncs", "modeled_us", ...}]}).

import type { ReplayOutput } from '../../replay/replayer.js';
import { toJson } from '../render/json.js';

export function json(r: ReplayOutput): string {
  return toJson({
    trace: r.trace,
    arch: r.arch,
    events: r.events,
    doorbells: r.doorbells,
    reference: r.reference,
    guest_findings_by_kind: r.guest_findings_by_kind,
    guest_findings: r.guest_findings,
    topology: { source: r.topology.source, devices: r.topology.topology.devices, notes: r.topology.notes },
    policies: r.policies,
    left_out: r.left_out ?? [],
  });
}
