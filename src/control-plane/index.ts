/**
 * The control plane: state, locks, events and work queues the hub keeps outside any one
 * process. In-process by default; the interface is shaped after NATS JetStream so a clustered
 * implementation passes the same conformance suite (`conformance.ts`).
 */
export { createLocks, type LocksOptions } from "./locks.ts";
export { createMemoryControlPlane, type MemoryControlPlaneOptions } from "./memory.ts";
export {
  type AcquireOptions,
  type ControlPlane,
  type Job,
  KEY_PATTERN,
  type Kv,
  type KvEntry,
  type KvWatch,
  type Lease,
  type Locks,
  type Message,
  type Subscription,
  type WorkQueue,
} from "./types.ts";
