import type * as grpc from "@grpc/grpc-js";
import { ClawHubError } from "../errors/index.ts";
import { fromGrpcError, hubProtocol } from "../wire/index.ts";
import { channelOptions } from "./tls.ts";

/** A client of a hub's IdentityService over the credentials given (always TLS). */
export function identityClient(hub: string, credentials: grpc.ChannelCredentials): grpc.Client {
  return new (hubProtocol().IdentityService)(hub, credentials, channelOptions(true));
}

/**
 * One unary IdentityService call as a promise, with a deadline; a refusal becomes the
 * ClawHubError the hub sent, naming the hub. Shared by enroll, renew and the admin client.
 */
export function identityCall<Res>(
  client: grpc.Client,
  hub: string,
  method: string,
  request: unknown,
  timeoutMs: number,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
    if (typeof fn !== "function")
      throw new ClawHubError("INTERNAL", `IdentityService has no method ${method}`);
    fn.call(
      client,
      request,
      { deadline: Date.now() + timeoutMs },
      (error: grpc.ServiceError | null, response: Res) =>
        error ? reject(fromGrpcError(error, `the hub at ${hub}`)) : resolve(response),
    );
  });
}
