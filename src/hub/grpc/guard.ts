import type * as grpc from "@grpc/grpc-js";
import { toClawHubError } from "../../errors/index.ts";
import { failStream, toGrpcError } from "../../wire/index.ts";

/**
 * Puts an identity check in front of every method of a service: a call from a peer that
 * `identify` refuses (no certificate, not enrolled) ends before its handler runs, with the
 * refusal as its status. Unary methods answer through their callback, streams with an error.
 */
export function requireIdentity(
  implementation: grpc.UntypedServiceImplementation,
  identify: (call: unknown) => { uri: string },
  /** Streams stay open past their first check: they are tracked so a revocation can end them. */
  track?: (uri: string, stream: NodeJS.EventEmitter) => void,
): grpc.UntypedServiceImplementation {
  const guarded: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    guarded[name] = ((call: unknown, callback?: unknown) => {
      let uri: string;
      try {
        uri = identify(call).uri;
      } catch (error) {
        const e = toClawHubError(error);
        if (typeof callback === "function") (callback as (err: unknown) => void)(toGrpcError(e));
        else failStream(call as NodeJS.EventEmitter, e);
        return;
      }
      if (typeof callback !== "function") track?.(uri, call as NodeJS.EventEmitter);
      return (handler as (...args: unknown[]) => unknown)(call, callback);
    }) as grpc.UntypedHandleCall;
  }
  return guarded;
}
