import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 to a local port, for faults on the path between a client and a
 * server: `silence()` stops forwarding while both connections stay open (a half-open path),
 * `close()` resets every connection through it (a cut cable) and stops listening.
 */
export async function relayTo(port: number): Promise<{ port: number; silence(): void; close(): Promise<void> }> {
  let silent = false;
  const sockets: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.push(client, upstream);
    client.on('data', (d) => silent || upstream.write(d));
    upstream.on('data', (d) => silent || client.write(d));
    for (const s of [client, upstream]) s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    silence: () => (silent = true),
    close: async () => {
      for (const s of sockets) s.resetAndDestroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
