// Issue 21's `@defer` with a client no one here wrote: Apollo Client's
// HttpLink (it sends `Accept: multipart/mixed;deferSpec=20220824,
// application/json` for a query with @defer and merges the increments)
// watches schema/operations/OrderWithDeferredDetails.graphql through the
// router, in front of the LOCAL RUN's real subgraphs with `payments` made
// DELAY_MS slow by a proxy (delayed-router.mjs). Checks: the first result has
// the order but not the deferred payment; the last one has everything and
// equals the same query without @defer; the last arrived well after the
// first; a client that accepts only JSON gets it whole in one response.
//
// Settings (environment):
//   STOREFRONT_BIN       the local run (default $CARGO_TARGET_DIR or ../../../target, then debug/storefront)
//   ROUTER_BIN           the router (default: the same folder's `router`)
//   STOREFRONT_PID_FILE  where the local run's pid goes (for CI's cleanup should this script be killed)
//   DELAYED_ROUTER_PID_FILE  where the second router's pid goes (the same)
//   DELAY_MS             how late payments answers `_entities` (default 1000)
//   DEADLINE_MS          the whole check's bound (default 120 s)
// Prints "defer client: N checks passed"; exit 0 only if every check passed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { parse, print, visit } from "graphql";

import { startDelayedRouter } from "./delayed-router.mjs";
import { freePortBase } from "../subscription-clients/ports.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const BIN = process.env.STOREFRONT_BIN ?? join(targetDir, "debug", "storefront");
const ROUTER_BIN = process.env.ROUTER_BIN ?? join(dirname(BIN), "router");
const DELAY_MS = Number(process.env.DELAY_MS ?? 1000);
const DEADLINE = Number(process.env.DEADLINE_MS ?? 120_000);
const OPERATIONS = join(root, "schema/operations");
const DEFERRED = readFileSync(join(OPERATIONS, "OrderWithDeferredDetails.graphql"), "utf8");

let checks = 0;
const check = (what, fn) => {
  fn();
  checks += 1;
  console.log(`ok ${checks} - ${what}`);
};

const scratch = mkdtempSync(join(tmpdir(), "storefront-defer-"));
let storefront;
let delayed;

async function stop(code) {
  await delayed?.stop().catch(() => {});
  if (storefront?.pid && storefront.exitCode === null) {
    storefront.kill("SIGTERM");
    await new Promise((done) => {
      const force = setTimeout(() => {
        storefront.kill("SIGKILL");
        done();
      }, 10_000);
      storefront.once("exit", () => {
        clearTimeout(force);
        done();
      });
    });
  }
  if (code !== 0) {
    for (const name of ["storefront.log", "delayed-router.log"]) {
      try {
        console.error(`--- ${name} ---\n${readFileSync(join(scratch, name), "utf8")}`);
      } catch {
        // no log
      }
    }
  }
  rmSync(scratch, { recursive: true, force: true });
  process.exit(code);
}

const timer = setTimeout(() => {
  console.error(`not ok - the check did not finish within ${DEADLINE} ms`);
  stop(1);
}, DEADLINE);

/** Starts the local run; its base port once `/ready` answers. */
async function startLocalRun() {
  const portBase = await freePortBase();
  const log = openSync(join(scratch, "storefront.log"), "w");
  storefront = spawn(BIN, [], {
    env: {
      ...process.env,
      PORT_BASE: String(portBase),
      BIND_ADDRESS: "127.0.0.1",
      DATA_DIR: join(scratch, "data"),
      RUST_LOG: process.env.RUST_LOG ?? "warn",
    },
    stdio: ["ignore", log, log],
  });
  let failed;
  storefront.once("error", (error) => (failed = error));
  if (process.env.STOREFRONT_PID_FILE) writeFileSync(process.env.STOREFRONT_PID_FILE, `${storefront.pid}\n`);
  for (;;) {
    if (failed) throw new Error(`${BIN} did not start: ${failed.message}`);
    if (storefront.exitCode !== null) throw new Error(`storefront exited with ${storefront.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${portBase}/ready`)).ok) return portBase;
    } catch {
      // not yet
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

/** A plain JSON GraphQL request; the whole body. */
async function post(url, query, variables, token, accept = "application/json") {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      accept,
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const type = response.headers.get("content-type") ?? "";
  return { type, body: await response.json() };
}

/** `data` of the example `name`, run through `url`; throws on errors. */
async function operation(url, name, variables, token) {
  const query = readFileSync(join(OPERATIONS, `${name}.graphql`), "utf8");
  const { body } = await post(url, query, variables, token);
  if (body.errors) throw new Error(`${name}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The document without its @defer directives: the same selections, answered whole. */
function withoutDefer(text) {
  return print(
    visit(parse(text), {
      Directive(node) {
        return node.name.value === "defer" ? null : undefined;
      },
    }),
  );
}

/** `value` without Apollo's `__typename` fields (the router's answers have none). */
function plain(value) {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== "__typename").map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

try {
  const portBase = await startLocalRun();
  const local = `http://127.0.0.1:${portBase}/graphql`;
  delayed = await startDelayedRouter({
    bin: ROUTER_BIN,
    portBase,
    slow: "payments",
    delayMs: DELAY_MS,
    scratch,
    pidFile: process.env.DELAYED_ROUTER_PID_FILE,
  });

  // A buyer with a paid order (through the local run's own router: fast).
  const email = `defer-${Date.now()}@example.com`;
  const { register } = await operation(local, "Register", {
    input: { email, password: "battery staple", name: "Dee Ferr" },
  });
  const token = register.token;
  const { createOrder } = await operation(
    local,
    "CreateOrder",
    { items: [{ sku: "MUG-STONEWARE-12OZ", quantity: 2 }, { sku: "NOTEBOOK-A5-DOT", quantity: 1 }] },
    token,
  );
  const { payOrder } = await operation(
    local,
    "PayOrder",
    { orderId: createOrder.id, paymentToken: "tok_visa", idempotencyKey: `defer-${createOrder.id}` },
    token,
  );
  assert.equal(payOrder.order.status, "PAID");
  const variables = { id: createOrder.id };

  // The reference: the same selections without @defer, through the delayed router.
  const reference = await post(delayed.url, withoutDefer(DEFERRED), variables, token);
  check("the query without @defer answers whole, with the payment and products", () => {
    assert.equal(reference.body.errors, undefined, JSON.stringify(reference.body.errors));
    assert.equal(reference.body.data.order.payment.status, "SUCCEEDED");
    assert.equal(reference.body.data.order.items.length, 2);
    assert.ok(reference.body.data.order.items.every((item) => item.product?.name));
  });
  const expected = reference.body.data;

  // A client that does not accept multipart: one JSON response, deferred parts merged.
  const whole = await post(delayed.url, DEFERRED, variables, token);
  check("a JSON-only client gets the deferred query whole in one JSON response", () => {
    assert.match(whole.type, /json/);
    assert.equal(whole.body.errors, undefined, JSON.stringify(whole.body.errors));
    assert.deepEqual(whole.body.data, expected);
    assert.equal(whole.body.hasNext, undefined);
  });

  // Apollo Client, HttpLink, watchQuery: every result with its arrival time.
  const seenAccept = [];
  const client = new ApolloClient({
    link: new HttpLink({
      uri: delayed.url,
      headers: { authorization: `Bearer ${token}` },
      fetch: (uri, init) => {
        seenAccept.push(new Headers(init.headers).get("accept"));
        return fetch(uri, init);
      },
    }),
    cache: new InMemoryCache(),
  });
  const started = Date.now();
  const results = await new Promise((done, fail) => {
    const seen = [];
    const subscription = client
      .watchQuery({ query: gql(DEFERRED), variables, fetchPolicy: "network-only" })
      .subscribe({
        next(result) {
          seen.push({ at: Date.now() - started, result });
          if (result.errors?.length) fail(new Error(`errors: ${JSON.stringify(result.errors)}`));
          if (result.data?.order?.payment && result.data.order.items.every((item) => item.product)) {
            subscription.unsubscribe();
            done(seen);
          }
        },
        error(error) {
          fail(error);
        },
      });
  });
  const first = results[0];
  const last = results.at(-1);
  check("HttpLink asked for multipart/mixed with deferSpec=20220824", () => {
    assert.ok(
      seenAccept.some((accept) => /multipart\/mixed;\s*deferSpec=20220824/.test(accept ?? "")),
      `Accept headers sent: ${JSON.stringify(seenAccept)}`,
    );
  });
  check("the first result has the order's own fields but not the deferred payment", () => {
    const order = first.result.data?.order;
    assert.ok(order, `first result: ${JSON.stringify(first.result)}`);
    assert.equal(order.id, createOrder.id);
    assert.equal(order.status, "PAID");
    assert.deepEqual(plain(order.total), expected.order.total);
    assert.equal(order.items.length, 2);
    assert.equal(order.payment, undefined, `first result: ${JSON.stringify(first.result.data)}`);
  });
  check("the last result has every deferred field and equals the query without @defer", () => {
    assert.deepEqual(plain(last.result.data), expected);
    assert.equal(results.length >= 2, true, `${results.length} result(s)`);
  });
  check(`the payment arrived after the first result, about the ${DELAY_MS} ms delay later`, () => {
    assert.ok(
      last.at - first.at >= DELAY_MS / 2,
      `first at ${first.at} ms, last at ${last.at} ms: ${JSON.stringify(results.map((r) => r.at))}`,
    );
    assert.ok(first.at < DELAY_MS, `the first result took ${first.at} ms (payments is ${DELAY_MS} ms slow)`);
    assert.ok(delayed.proxy.delayed >= 1, "no request went through the delaying proxy");
  });
  clearTimeout(timer);
  console.log(`defer client: ${checks} checks passed`);
  await stop(0);
} catch (error) {
  console.error(`not ok - ${error.stack ?? error}`);
  await stop(1);
}
