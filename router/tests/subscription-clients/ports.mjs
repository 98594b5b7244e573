// Free ports for a local run started by a check (the subscription clients,
// the @defer client and the playground's browser test import this).
import { createServer } from "node:net";

function portFree(port) {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

/** A base port with it and the next four free (the local run's layout). */
export async function freePortBase() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let free = true;
    for (let port = base; port < base + 5 && free; port++) free = await portFree(port);
    if (free) return base;
  }
  throw new Error("no five consecutive free ports");
}
