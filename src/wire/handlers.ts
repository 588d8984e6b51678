import type * as grpc from "@grpc/grpc-js";
import { toClawHubError } from "../errors/index.ts";
import { toGrpcError } from "./status.ts";

/** Wraps an async handler as a grpc-js unary handler; errors map through `toGrpcError` (once). */
export const unary =
  <Req, Res>(fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>) =>
  (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (error: unknown) => callback(toGrpcError(toClawHubError(error))),
    );
  };

/** Ends a server stream with a ClawHub error as its status. */
export function failStream(stream: NodeJS.EventEmitter, error: unknown): void {
  const e = toClawHubError(error);
  stream.emit("error", Object.assign(new Error(e.message), toGrpcError(e)));
}
