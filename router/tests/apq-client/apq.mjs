// Apollo Client's persisted-queries link against the router binary: the
// first run of a query sends only its sha256 and gets PERSISTED_QUERY_NOT_FOUND,
// the link retries with the document (which the router checks and caches),
// and the next run is answered from the hash alone; over POST, and over GET
// (`useGETForHashedQueries`, what a CDN can cache) with the retry as a POST.
// Then Apollo's BatchHttpLink: two queries in one POST, answered in order.
//
// The router runs as a process (ROUTER_BIN, default
// $CARGO_TARGET_DIR/debug/router or target/debug/router) on the storefront's
// supergraph, with the inventory subgraph replaced by a fake in this script.
// Bounded in time (DEADLINE_MS, default 90 s); exit 0 only if every check
// passed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { BatchHttpLink } from "@apollo/client/link/batch-http/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const routerBin =
  process.env.ROUTER_BIN ??
  join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", "router");
const deadline = Number(process.env.DEADLINE_MS ?? 90_000);

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
let checks = 0;
const check = (what, fn) => {
  fn();
  checks += 1;
  console.log(`ok ${checks} - ${what}`);
};

// The fake inventory subgraph: every query gets two categories.
const subgraphQueries = [];
const inventory = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    subgraphQueries.push(JSON.parse(body).query);
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        data: {
          categories: [
            { slug: "shoes", name: "Shoes" },
            { slug: "hats", name: "Hats" },
          ],
        },
      }),
    );
  });
});
await new Promise((ok) => inventory.listen(0, "127.0.0.1", ok));
const inventoryUrl = `http://127.0.0.1:${inventory.address().port}/graphql`;

const scratch = mkdtempSync(join(tmpdir(), "apq-client-"));
const supergraph = join(scratch, "supergraph.graphql");
const sdl = readFileSync(join(root, "schema", "supergraph.graphql"), "utf8");
const replaced = sdl.replace(
  /(@join__graph\(name: "inventory", url: ")[^"]*"/,
  `$1${inventoryUrl}"`,
);
assert.notEqual(replaced, sdl, "the supergraph names an inventory subgraph");
writeFileSync(supergraph, replaced);

const port = await new Promise((ok) => {
  const probe = createServer();
  probe.listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => ok(port));
  });
});
const base = `http://127.0.0.1:${port}`;
let routerLog = "";
const router = spawn(routerBin, ["serve", "--supergraph", supergraph], {
  env: {
    ...process.env,
    PORT: String(port),
    PLAYGROUND: "false",
    PERSISTED_QUERIES_MODE: "off",
    PERSISTED_QUERIES_APQ: "true",
    BATCHING_ENABLED: "true",
    RUST_LOG: process.env.RUST_LOG ?? "warn",
  },
  stdio: ["ignore", "pipe", "pipe"],
});
router.stdout.on("data", (chunk) => (routerLog += chunk));
router.stderr.on("data", (chunk) => (routerLog += chunk));

let finished = false;
const stop = (code) => {
  finished = true;
  router.kill("SIGTERM");
  inventory.close();
  rmSync(scratch, { recursive: true, force: true });
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

/// Every request the client sends, with the router's status.
function recordingFetch(log) {
  return async (uri, options) => {
    const url = new URL(uri);
    const body = options.body ? JSON.parse(options.body) : null;
    const response = await fetch(uri, options);
    log.push({
      method: options.method ?? "GET",
      query: body ? body.query : url.searchParams.get("query"),
      extensions: body
        ? body.extensions
        : JSON.parse(url.searchParams.get("extensions") ?? "null"),
      status: response.status,
    });
    return response;
  };
}

function client(log, useGETForHashedQueries) {
  const link = createPersistedQueryLink({ sha256, useGETForHashedQueries }).concat(
    new HttpLink({ uri: `${base}/graphql`, fetch: recordingFetch(log) }),
  );
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

const expected = [
  { __typename: "Category", slug: "shoes", name: "Shoes" },
  { __typename: "Category", slug: "hats", name: "Hats" },
];

async function scenario(method, query) {
  const document = gql(query);
  const first = [];
  const result = await client(first, method === "GET").query({
    query: document,
    fetchPolicy: "network-only",
  });
  check(`${method}: the first run answers the query`, () =>
    assert.deepEqual(result.data.categories, expected),
  );
  check(`${method}: it sent the hash alone, was told NOT_FOUND, retried with the document`, () => {
    assert.equal(first.length, 2, JSON.stringify(first));
    const [hashOnly, retry] = first;
    assert.equal(hashOnly.method, method);
    assert.equal(hashOnly.query ?? null, null);
    assert.match(hashOnly.extensions.persistedQuery.sha256Hash, /^[0-9a-f]{64}$/);
    assert.ok([200, 404].includes(hashOnly.status), `status ${hashOnly.status}`);
    assert.equal(retry.method, "POST");
    assert.ok(retry.query.includes("categories"));
    assert.equal(
      retry.extensions.persistedQuery.sha256Hash,
      hashOnly.extensions.persistedQuery.sha256Hash,
    );
    assert.equal(retry.status, 200);
  });
  const second = [];
  const again = await client(second, method === "GET").query({
    query: document,
    fetchPolicy: "network-only",
  });
  check(`${method}: a new client's run is answered from the hash alone`, () => {
    assert.deepEqual(again.data.categories, expected);
    assert.equal(second.length, 1, JSON.stringify(second));
    assert.equal(second[0].method, method);
    assert.equal(second[0].query ?? null, null);
    assert.equal(second[0].status, 200);
  });
}

async function batched() {
  const log = [];
  const link = new BatchHttpLink({
    uri: `${base}/graphql`,
    batchInterval: 50,
    batchMax: 10,
    fetch: async (uri, options) => {
      const response = await fetch(uri, options);
      log.push({ body: JSON.parse(options.body), status: response.status });
      return response;
    },
  });
  const apollo = new ApolloClient({ link, cache: new InMemoryCache() });
  const [slugs, names] = await Promise.all([
    apollo.query({ query: gql("query Slugs { categories { slug } }"), fetchPolicy: "network-only" }),
    apollo.query({ query: gql("query Names { categories { name } }"), fetchPolicy: "network-only" }),
  ]);
  check("BatchHttpLink: two queries went in one POST and each got its own answer", () => {
    assert.equal(log.length, 1, JSON.stringify(log));
    assert.ok(Array.isArray(log[0].body) && log[0].body.length === 2);
    assert.equal(log[0].status, 200);
    assert.deepEqual(
      slugs.data.categories.map((c) => c.slug),
      ["shoes", "hats"],
    );
    assert.deepEqual(
      names.data.categories.map((c) => c.name),
      ["Shoes", "Hats"],
    );
  });
}

try {
  await ready();
  await scenario("POST", "query Categories { categories { slug name } }");
  await scenario("GET", "query CategoriesAgain { categories { slug name } }");
  check("the subgraph was asked once per answered run", () =>
    assert.equal(subgraphQueries.length, 4),
  );
  await batched();
  clearTimeout(timer);
  console.log(`apq: ${checks} checks passed`);
  stop(0);
} catch (error) {
  console.error(`not ok - ${error.stack ?? error}`);
  stop(1);
}
