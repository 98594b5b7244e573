// Clients no one here wrote, subscribing through the router binary:
// npm `graphql-ws` (WebSocket, graphql-transport-ws), `graphql-sse`
// (Server-Sent Events, distinct connections mode) and Apollo Client's
// HttpLink (multipart subscriptions). Each subscribes to
// `orderUpdated { id status payment { status } }`: `status` comes from the
// orders subgraph's subscription (over WebSocket), `payment` from the
// payments subgraph (an entity fetch the router runs for every event).
//
// The subgraphs are fakes in this script: orders answers `_service` over
// HTTP and speaks graphql-transport-ws on the same `/graphql` (two events:
// PENDING_PAYMENT, then PAID, then complete); payments answers `_service`
// and `_entities`. The router (ROUTER_BIN, default
// $CARGO_TARGET_DIR/debug/router or target/debug/router) composes them.
// Bounded in time (DEADLINE_MS, default 90 s); exit 0 only if every check
// passed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { createClient as createSseClient } from "graphql-sse";
import { createClient as createWsClient } from "graphql-ws";
import WebSocket, { WebSocketServer } from "ws";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const routerBin =
  process.env.ROUTER_BIN ??
  join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", "router");
const deadline = Number(process.env.DEADLINE_MS ?? 90_000);

let checks = 0;
const check = (what, fn) => {
  fn();
  checks += 1;
  console.log(`ok ${checks} - ${what}`);
};

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])';
const ORDERS_SDL = `${LINK}
type Query { order(id: ID!): Order }
type Subscription { orderUpdated(id: ID!): Order! }
type Order @key(fields: "id") { id: ID! status: String! }`;
const PAYMENTS_SDL = `${LINK}
type Query { paymentsVersion: Int! }
type Order @key(fields: "id") { id: ID! payment: Payment }
type Payment { status: String! }`;

/// An HTTP subgraph answering `_service` with `sdl` and anything else with `answer(body)`.
function httpSubgraph(sdl, answer) {
  return createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const request = JSON.parse(body);
      const data = request.query.includes("_service")
        ? { _service: { sdl } }
        : answer(request);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ data }));
    });
  });
}

async function listen(server) {
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return `http://127.0.0.1:${server.address().port}/graphql`;
}

// orders: HTTP for `_service`, graphql-transport-ws for the subscription.
const inits = [];
const orders = httpSubgraph(ORDERS_SDL, () => ({}));
const ordersWs = new WebSocketServer({
  server: orders,
  path: "/graphql",
  handleProtocols: (protocols) =>
    protocols.has("graphql-transport-ws") ? "graphql-transport-ws" : false,
});
ordersWs.on("connection", (socket, upgrade) => {
  const timers = [];
  socket.on("message", (raw) => {
    const message = JSON.parse(raw.toString());
    const send = (value) => socket.send(JSON.stringify(value));
    if (message.type === "connection_init") {
      inits.push({ payload: message.payload, header: upgrade.headers.authorization });
      send({ type: "connection_ack" });
    } else if (message.type === "ping") {
      send({ type: "pong" });
    } else if (message.type === "subscribe") {
      const { id } = message;
      const order = message.payload.variables.id;
      const event = (status) => ({
        id,
        type: "next",
        payload: { data: { orderUpdated: { __typename: "Order", id: order, status } } },
      });
      timers.push(setTimeout(() => send(event("PENDING_PAYMENT")), 50));
      timers.push(setTimeout(() => send(event("PAID")), 150));
      timers.push(setTimeout(() => send({ id, type: "complete" }), 250));
    } else if (message.type === "complete") {
      timers.forEach(clearTimeout);
    }
  });
  socket.on("close", () => timers.forEach(clearTimeout));
});
const ordersUrl = await listen(orders);

// payments: `payment` for every order representation.
const entityFetches = [];
const payments = httpSubgraph(PAYMENTS_SDL, (request) => {
  const representations = request.variables?.representations ?? [];
  entityFetches.push(representations.map((r) => r.id));
  return {
    _entities: representations.map(() => ({
      __typename: "Order",
      payment: { status: "SUCCEEDED" },
    })),
  };
});
const paymentsUrl = await listen(payments);

const port = await new Promise((ok) => {
  const probe = createServer();
  probe.listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => ok(port));
  });
});
const base = `http://127.0.0.1:${port}`;
let routerLog = "";
const router = spawn(
  routerBin,
  ["serve", "--subgraph", `orders=${ordersUrl}`, "--subgraph", `payments=${paymentsUrl}`],
  {
    env: {
      ...process.env,
      PORT: String(port),
      PLAYGROUND: "false",
      RUST_LOG: process.env.RUST_LOG ?? "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  },
);
router.stdout.on("data", (chunk) => (routerLog += chunk));
router.stderr.on("data", (chunk) => (routerLog += chunk));

let finished = false;
const stop = (code) => {
  finished = true;
  router.kill("SIGTERM");
  ordersWs.close();
  orders.close();
  payments.close();
  if (code !== 0) console.error(`--- router output ---\n${routerLog}`);
  process.exit(code);
};
const timer = setTimeout(() => {
  console.error(`not ok - the check did not finish within ${deadline} ms`);
  stop(1);
}, deadline);
router.on("exit", (code) => {
  if (!finished) {
    console.error(`not ok - the router exited early (code ${code})`);
    stop(1);
  }
});

async function ready() {
  for (;;) {
    try {
      const response = await fetch(`${base}/ready`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

const WATCH = "subscription Watch($id: ID!) { orderUpdated(id: $id) { id status payment { status } } }";
const expected = (id) =>
  ["PENDING_PAYMENT", "PAID"].map((status) => ({
    data: { orderUpdated: { id, status, payment: { status: "SUCCEEDED" } } },
  }));

async function collect(iterable) {
  const events = [];
  for await (const event of iterable) events.push(event);
  return events;
}

async function overGraphqlWs() {
  const client = createWsClient({
    url: `${base.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: "Bearer node-token" },
  });
  const events = await collect(client.iterate({ query: WATCH, variables: { id: "ws1" } }));
  check("graphql-ws: PENDING_PAYMENT then PAID, each with the payment from payments, then complete", () =>
    assert.deepEqual(events, expected("ws1")),
  );
  check("graphql-ws: the token of connection_init reached the orders subgraph", () => {
    const init = inits.at(-1);
    assert.equal(init.payload.Authorization, "Bearer node-token");
    assert.equal(init.header, "Bearer node-token");
  });
  const query = await collect(client.iterate({ query: "{ __typename }" }));
  await client.dispose();
  check("graphql-ws: a query over the socket is answered once", () =>
    assert.deepEqual(query, [{ data: { __typename: "Query" } }]),
  );
}

async function overGraphqlSse() {
  const client = createSseClient({ url: `${base}/graphql` });
  const events = await collect(client.iterate({ query: WATCH, variables: { id: "sse1" } }));
  client.dispose();
  check("graphql-sse: PENDING_PAYMENT then PAID, each with the payment, then complete", () =>
    assert.deepEqual(events, expected("sse1")),
  );
}

async function overApolloMultipart() {
  const client = new ApolloClient({
    link: new HttpLink({ uri: `${base}/graphql` }),
    cache: new InMemoryCache(),
  });
  const events = await new Promise((done, fail) => {
    const seen = [];
    client.subscribe({ query: gql(WATCH), variables: { id: "mp1" } }).subscribe({
      next: (result) => seen.push(result),
      error: fail,
      complete: () => done(seen),
    });
  });
  check("Apollo Client (multipart): PENDING_PAYMENT then PAID, each with the payment, then complete", () =>
    assert.deepEqual(
      events.map((event) => event.data.orderUpdated),
      ["PENDING_PAYMENT", "PAID"].map((status) => ({
        __typename: "Order",
        id: "mp1",
        status,
        payment: { __typename: "Payment", status: "SUCCEEDED" },
      })),
    ),
  );
}

try {
  await ready();
  await overGraphqlWs();
  await overGraphqlSse();
  await overApolloMultipart();
  check("the router fetched the payment once per event", () =>
    assert.deepEqual(entityFetches, [["ws1"], ["ws1"], ["sse1"], ["sse1"], ["mp1"], ["mp1"]]),
  );
  clearTimeout(timer);
  console.log(`subscription clients: ${checks} checks passed`);
  stop(0);
} catch (error) {
  console.error(`not ok - ${error.stack ?? error}`);
  stop(1);
}
