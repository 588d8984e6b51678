import * as grpc from "@grpc/grpc-js";
import { ClawHubError } from "../../errors/index.ts";
import { CHANNEL_OPTIONS } from "../../wire/index.ts";

/** A gRPC server on one address, with the services given. */
export interface GrpcServer {
  readonly port: number;
  readonly address: string;
  /** Stops accepting, lets calls finish for up to `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

/** Binds a gRPC server to `host:port` (0: any free port) with the services given. */
export async function startGrpcServer(options: {
  host: string;
  port: number;
  services: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>;
  credentials?: grpc.ServerCredentials;
}): Promise<GrpcServer> {
  const server = new grpc.Server(CHANNEL_OPTIONS);
  for (const [definition, implementation] of options.services)
    server.addService(definition, implementation);
  const { host } = options;
  const bracketed = host.includes(":") ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${bracketed}:${options.port}`,
      options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (error, bound) =>
        error
          ? reject(
              new ClawHubError(
                "IO_ERROR",
                `the hub cannot listen on ${host}:${options.port}: ${error.message}`,
                { cause: error, hint: "Pick another port with --hub-port (0: any free port)." },
              ),
            )
          : resolve(bound),
    );
  });
  return {
    port,
    address: `${bracketed}:${port}`,
    close(graceMs = 2000) {
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
