// The policy entry point (`import { ... } from 'invtrace/policy'`): the contract between the replay
// engine and a VMM mediation policy, and the helpers the bundled policies are built from, so a
// policy module of your own (loaded with --policy ./my-policy.js) is typed and can reuse them.
// docs/library.md walks through one.

export type { Policy, PolicyContext, PolicyFactory, Variant, GuestError, VmmOpKind } from '../replay/policy.js';
export { checkVariant, parsePolicySpec, variantBool, variantChoice } from '../replay/policy.js';
/** The VMM's state and the steps of the trapped path: completion points, host failures, a doorbell handler. */
export { VmmState, completionPoint, hostFailed, trappedPolicy } from '../replay/policies/steps.js';
/** One guest command through the trapped path as per-command handles it (forward, complete, stop on errors). */
export { handleOne, walkPerCommand, type WalkOptions } from '../replay/policies/per-command.js';
export { forwardToHost, type Forwarded, type ForwardOutcome } from '../replay/vmm/forward.js';
export type { Fanout, HostFailure, Owner, VmmArch } from '../replay/vmm/arch.js';
export type { Decoded } from '../formats/codec/codec.js';
export type { HostModel } from '../replay/host.js';
