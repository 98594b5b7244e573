// A second router in front of a running local run (the `storefront` binary),
// with one subgraph made slow for tests: a tiny HTTP proxy in front of that
// subgraph holds every `_entities` request for `delayMs` before passing it
// on, and a `router` process (ROUTER_BIN) routes to the local run's other
// subgraphs directly and to that one through the proxy (`PAYMENTS_URL` etc.).
// Test-only: product code has no delay setting. Node built-ins only, so the
// playground's browser test imports it too.
import { spawn } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";

/** The local run's layout from its base port (router first). */
export const SUBGRAPH_OFFSETS = { users: 1, orders: 2, payments: 3, inventory: 4 };

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/**
 * An HTTP proxy on a free port to 127.0.0.1:`targetPort` that holds every
 * POST whose body asks for `_entities` for `delayMs`; `delayed` counts them.
 */
export async function delayingProxy(targetPort, delayMs) {
  const proxy = { port: 0, delayed: 0, server: null };
  proxy.server = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const slow = request.method === "POST" && body.includes("_entities");
      if (slow) proxy.delayed += 1;
      setTimeout(
        () => {
          const upstream = http.request(
            { host: "127.0.0.1", port: targetPort, method: request.method, path: request.url, headers: request.headers },
            (answer) => {
              response.writeHead(answer.statusCode, answer.headers);
              answer.pipe(response);
            },
          );
          upstream.on("error", (error) => {
            response.writeHead(502, { "content-type": "text/plain" });
            response.end(`proxy: ${error.message}`);
          });
          upstream.end(body);
        },
        slow ? delayMs : 0,
      );
    });
  });
  await new Promise((done) => proxy.server.listen(0, "127.0.0.1", done));
  proxy.port = proxy.server.address().port;
  proxy.close = () => new Promise((done) => proxy.server.close(() => done()).closeAllConnections());
  return proxy;
}

/**
 * Starts `bin serve` on a free port, routing to the local run at `portBase`
 * with `slow` (a subgraph name) behind a delaying proxy; resolves once its
 * `/ready` answers. `stop()` ends both.
 */
export async function startDelayedRouter({ bin, portBase, slow = "payments", delayMs, scratch, pidFile, env = {} }) {
  const proxy = await delayingProxy(portBase + SUBGRAPH_OFFSETS[slow], delayMs);
  const port = await freePort();
  const urls = {};
  for (const [name, offset] of Object.entries(SUBGRAPH_OFFSETS)) {
    const target = name === slow ? proxy.port : portBase + offset;
    urls[`${name.toUpperCase()}_URL`] = `http://127.0.0.1:${target}/graphql`;
  }
  const logPath = join(scratch, "delayed-router.log");
  const log = openSync(logPath, "w");
  const router = spawn(bin, ["serve"], {
    cwd: scratch,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: String(port),
      BIND_ADDRESS: "127.0.0.1",
      RUST_LOG: process.env.RUST_LOG ?? "warn",
      ...urls,
      // Tokens checked as the local run's router checks them (the users JWKS).
      JWT_JWKS_URLS: `http://127.0.0.1:${portBase + SUBGRAPH_OFFSETS.users}/.well-known/jwks.json`,
      JWT_ISSUERS: "storefront-users",
      JWT_AUDIENCES: "storefront",
      ...env,
    },
    stdio: ["ignore", log, log],
  });
  let failed;
  router.once("error", (error) => (failed = error));
  if (pidFile) writeFileSync(pidFile, `${router.pid}\n`);
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (router.exitCode === null && router.signalCode === null) {
      router.kill("SIGTERM");
      await new Promise((done) => {
        const force = setTimeout(() => {
          router.kill("SIGKILL");
          done();
        }, 10_000);
        router.once("exit", () => {
          clearTimeout(force);
          done();
        });
      });
    }
    await proxy.close();
  };
  const deadline = Date.now() + 60_000;
  let last = "no answer";
  for (;;) {
    if (failed || router.exitCode !== null) {
      await stop();
      throw new Error(
        `${bin} ${failed ? `did not start: ${failed.message}` : `exited with ${router.exitCode}`}\n${readFileSync(logPath, "utf8")}`,
      );
    }
    try {
      const response = await fetch(`${base}/ready`);
      if (response.ok) break;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error.message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the delayed router was not ready within 60 s (${last})\n${readFileSync(logPath, "utf8")}`);
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  return { base, url: `${base}/graphql`, proxy, stop, log: () => readFileSync(logPath, "utf8") };
}
