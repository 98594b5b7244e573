// Issue 20's done criterion with clients no one here wrote, against the LOCAL
// RUN (the `storefront` binary: the router and the four real subgraphs, the
// README's first command): npm `graphql-ws` (WebSocket, graphql-transport-ws,
// the token in connection_init), `graphql-sse` (Server-Sent Events, distinct
// connections) and Apollo Client's HttpLink (multipart subscriptions) each
// subscribe to `orderUpdated` of a fresh order, see PENDING_PAYMENT, the order
// is paid through the router, and they see PAID with fields from users
// (`buyer`), inventory (`product { name }`) and payments (`payment`).
//
// The script starts the local run itself on five free ports (PORT_BASE) with
// a fresh DATA_DIR in a temp dir, and stops it. Settings (environment):
//   STOREFRONT_BIN       the binary (default $CARGO_TARGET_DIR or ../../../target, then debug/storefront)
//   STOREFRONT_PID_FILE  where its pid goes (for CI's cleanup should this script be killed)
//   STOREFRONT_URL       use a local run that is already up at this URL instead
//   DEADLINE_MS          the whole check's bound (default 120 s)
// Exit 0 only if every check passed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { createClient as createSseClient } from "graphql-sse";
import { createClient as createWsClient } from "graphql-ws";
import WebSocket from "ws";
import { freePortBase } from "./ports.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const BIN =
  process.env.STOREFRONT_BIN ??
  join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", "storefront");
const DEADLINE = Number(process.env.DEADLINE_MS ?? 120_000);
const EVENT_WAIT = 15_000;

let checks = 0;
const check = (what, fn) => {
  fn();
  checks += 1;
  console.log(`ok ${checks} - ${what}`);
};

const scratch = mkdtempSync(join(tmpdir(), "storefront-subscriptions-"));
let storefront;

async function stop(code) {
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
  if (code !== 0 && storefront) {
    try {
      console.error(`--- storefront output ---\n${readFileSync(join(scratch, "storefront.log"), "utf8")}`);
    } catch {
      // no log
    }
  }
  rmSync(scratch, { recursive: true, force: true });
  process.exit(code);
}

const timer = setTimeout(() => {
  console.error(`not ok - the check did not finish within ${DEADLINE} ms`);
  stop(1);
}, DEADLINE);

/** Starts the local run; its base URL once `/ready` answers. */
async function startLocalRun() {
  if (process.env.STOREFRONT_URL) return process.env.STOREFRONT_URL.replace(/\/graphql$/, "");
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
  const base = `http://127.0.0.1:${portBase}`;
  let last = "no answer";
  for (;;) {
    if (failed) throw new Error(`${BIN} did not start: ${failed.message}`);
    if (storefront.exitCode !== null) throw new Error(`storefront exited with ${storefront.exitCode}`);
    try {
      const response = await fetch(`${base}/ready`);
      if (response.ok) return base;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error.message;
    }
    if (process.env.VERBOSE) console.log(`waiting for the local run: ${last}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

const base = await startLocalRun().catch((error) => {
  console.error(`not ok - the local run did not start: ${error.message}`);
  return stop(1);
});
const url = `${base}/graphql`;

/** A plain GraphQL request through the router; `data`, or throws with the errors. */
async function graphql(query, variables = {}, token) {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const WATCH = `subscription Watch($id: ID!) { orderUpdated(id: $id) {
  id status total { amount currency }
  buyer { name email }
  items { quantity product { name } }
  payment { status }
} }`;

/** Events pushed by a client's callbacks, taken one at a time with a bound. */
function queue() {
  const events = [];
  const waiting = [];
  let failure;
  const settle = () => {
    while (waiting.length && (events.length || failure)) {
      const { ok, fail } = waiting.shift();
      if (events.length) ok(events.shift());
      else fail(failure);
    }
  };
  return {
    push(event) {
      events.push(event);
      settle();
    },
    fail(error) {
      failure = error instanceof Error ? error : new Error(JSON.stringify(error));
      settle();
    },
    next(what) {
      return new Promise((ok, fail) => {
        const timeout = setTimeout(() => fail(new Error(`no event within ${EVENT_WAIT} ms: ${what}`)), EVENT_WAIT);
        waiting.push({
          ok: (event) => (clearTimeout(timeout), ok(event)),
          fail: (error) => (clearTimeout(timeout), fail(error)),
        });
        settle();
      });
    },
  };
}

/** A client subscription as a queue of events and a way to end it. */
function overGraphqlWs(token, id) {
  const client = createWsClient({
    url: url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
  });
  const events = queue();
  const unsubscribe = client.subscribe(
    { query: WATCH, variables: { id } },
    { next: (event) => events.push(event), error: (error) => events.fail(error), complete: () => {} },
  );
  return { events, end: async () => (unsubscribe(), await client.dispose()) };
}

function overGraphqlSse(token, id) {
  const client = createSseClient({ url, headers: { Authorization: `Bearer ${token}` } });
  const events = queue();
  const unsubscribe = client.subscribe(
    { query: WATCH, variables: { id } },
    { next: (event) => events.push(event), error: (error) => events.fail(error), complete: () => {} },
  );
  return { events, end: async () => (unsubscribe(), client.dispose()) };
}

function overApolloMultipart(token, id) {
  const client = new ApolloClient({
    link: new HttpLink({ uri: url, headers: { Authorization: `Bearer ${token}` } }),
    cache: new InMemoryCache(),
  });
  const events = queue();
  const subscription = client.subscribe({ query: gql(WATCH), variables: { id } }).subscribe({
    next: (event) => events.push(event),
    error: (error) => events.fail(error),
  });
  return { events, end: async () => (subscription.unsubscribe(), client.stop()) };
}

/** Strips Apollo's `__typename`s so every client's event compares alike. */
const plain = (value) =>
  JSON.parse(JSON.stringify(value), (key, field) => (key === "__typename" ? undefined : field));

async function subscribeAndPay(name, open) {
  const email = `${name.replace(/\W+/g, "-").toLowerCase()}-${Date.now()}@example.com`;
  const { register } = await graphql(
    "mutation($i: RegisterInput!) { register(input: $i) { token } }",
    { i: { email, password: "battery staple horse", name: "Node Client" } },
  );
  const token = register.token;
  const { createOrder } = await graphql(
    'mutation { createOrder(items: [{ sku: "MUG-STONEWARE-12OZ", quantity: 2 }]) { id total { amount currency } } }',
    {},
    token,
  );
  const id = createOrder.id;
  const { events, end } = open(token, id);
  try {
    const first = plain(await events.next(`${name}: the first state`));
    check(`${name}: the first event is the order, PENDING_PAYMENT, with its buyer (users) and products (inventory)`, () => {
      assert.equal(first.errors, undefined, JSON.stringify(first));
      const order = first.data.orderUpdated;
      assert.equal(order.id, id);
      assert.equal(order.status, "PENDING_PAYMENT");
      assert.deepEqual(order.total, createOrder.total);
      assert.deepEqual(order.buyer, { name: "Node Client", email });
      assert.equal(order.items[0].quantity, 2);
      assert.equal(typeof order.items[0].product.name, "string");
      assert.equal(order.payment, null);
    });
    const { payOrder } = await graphql(
      'mutation($o: ID!) { payOrder(orderId: $o, paymentToken: "tok_visa", idempotencyKey: "node-pay") { status } }',
      { o: id },
      token,
    );
    assert.equal(payOrder.status, "SUCCEEDED");
    let paid;
    do {
      paid = plain(await events.next(`${name}: PAID`));
      assert.equal(paid.errors, undefined, JSON.stringify(paid));
    } while (paid.data.orderUpdated.status === "PENDING_PAYMENT");
    check(`${name}: PAID arrives with the buyer (users), products (inventory) and payment (payments)`, () => {
      const order = paid.data.orderUpdated;
      assert.equal(order.status, "PAID");
      assert.deepEqual(order.buyer, first.data.orderUpdated.buyer);
      assert.deepEqual(order.items, first.data.orderUpdated.items);
      assert.deepEqual(order.payment, { status: "SUCCEEDED" });
    });
  } finally {
    await end();
  }
}

try {
  await subscribeAndPay("graphql-ws", overGraphqlWs);
  await subscribeAndPay("graphql-sse", overGraphqlSse);
  await subscribeAndPay("Apollo Client multipart", overApolloMultipart);
  clearTimeout(timer);
  console.log(`subscriptions against the local run: ${checks} checks passed`);
  await stop(0);
} catch (error) {
  console.error(`not ok - ${error.stack ?? error}`);
  await stop(1);
}
