import { createServer } from "node:net";

/** A TCP port free on loopback right now (for peers started by a bench: nats-server, Redis). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}
