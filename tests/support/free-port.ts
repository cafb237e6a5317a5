/**
 * A loopback port that was free a moment ago, for a test server that must be told its port before
 * it listens (a hub whose public URL names it, a PostgreSQL started with -p).
 */
import { createServer } from 'node:net';

/** Asks the kernel for a free port on 127.0.0.1, and gives it back. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
