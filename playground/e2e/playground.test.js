// The playground in a real browser: starts the local run (`storefront`, the
// router and the four real subgraphs) on free ports with a fresh DATA_DIR,
// opens `/` in Debian's headless Chromium through playwright-core, and checks
// the page end to end. Run from this folder with `npm test` after building the
// binary; settings (environment):
//   STOREFRONT_BIN  the `storefront` binary (default: $CARGO_TARGET_DIR or
//                   ../../target, then debug/storefront)
//   ROUTER_BIN      the `router` binary, for the `@defer` test's second router
//                   in front of a slowed payments subgraph (default: next to
//                   STOREFRONT_BIN)
//   DELAYED_ROUTER_PID_FILE  where that router's pid goes (CI's cleanup)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   SCREENSHOT      where the screenshot goes (default /tmp/storefront-playground.png)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

import { startDelayedRouter } from '../../router/tests/defer-client/delayed-router.mjs';
import { freePortBase } from '../../router/tests/subscription-clients/ports.mjs';

const here = import.meta.dirname;
const targetDir = process.env.CARGO_TARGET_DIR ?? resolve(here, '../../target');
const BIN = process.env.STOREFRONT_BIN ?? join(targetDir, 'debug/storefront');
const ROUTER_BIN = process.env.ROUTER_BIN ?? join(dirname(BIN), 'router');
/** How late the `@defer` test's payments subgraph answers `_entities`. */
const PAYMENTS_DELAY_MS = 2_000;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = process.env.SCREENSHOT ?? '/tmp/storefront-playground.png';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const STEP_TIMEOUT = 30_000;

const OPERATIONS = resolve(here, '../../schema/operations');

const scratch = mkdtempSync(join(tmpdir(), 'storefront-playground-'));
let storefront;
let portBase;
let context;
let page;
let base;
const requests = [];
const problems = [];
/** The WebSockets the page opened: url, frames sent, whether closed. */
const sockets = [];

async function waitReady(url, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (storefront.exitCode !== null) throw new Error(`storefront exited with ${storefront.exitCode}`);
    try {
      const response = await fetch(`${url}/ready`);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the router was not ready within ${deadlineMs} ms (${last})`);
}

before(async () => {
  portBase = await freePortBase();
  base = `http://127.0.0.1:${portBase}`;
  const log = openSync(join(scratch, 'storefront.log'), 'w');
  storefront = spawn(BIN, [], {
    env: {
      ...process.env,
      PORT_BASE: String(portBase),
      BIND_ADDRESS: '127.0.0.1',
      DATA_DIR: join(scratch, 'data'),
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      CORS_ORIGINS: '',
    },
    stdio: ['ignore', log, log],
  });
  // CI kills it by this file should this process itself be killed (timeout).
  if (process.env.STOREFRONT_PID_FILE) writeFileSync(process.env.STOREFRONT_PID_FILE, `${storefront.pid}\n`);
  try {
    await waitReady(base, 90_000);
  } catch (error) {
    throw new Error(`${error.message}\n${readFileSync(join(scratch, 'storefront.log'), 'utf8')}`);
  }
  context = await chromium.launchPersistentContext(join(scratch, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
      // The network cut: anything not on loopback goes to a proxy where
      // nothing listens (loopback always bypasses the proxy), so a request to
      // another host fails as it would offline, besides being recorded.
      '--proxy-server=http://127.0.0.1:9',
    ],
  });
  context.setDefaultTimeout(STEP_TIMEOUT);
  context.on('request', (request) => requests.push(request.url()));
  page = context.pages()[0] ?? (await context.newPage());
  await watchPage(page);
  page.on('websocket', (ws) => {
    const socket = { url: ws.url(), sent: [], received: [], closed: false };
    sockets.push(socket);
    ws.on('framesent', (frame) => socket.sent.push(String(frame.payload)));
    ws.on('framereceived', (frame) => socket.received.push(String(frame.payload)));
    ws.on('close', () => {
      socket.closed = true;
    });
  });
});

after(async () => {
  await context?.close().catch(() => {});
  if (storefront && storefront.exitCode === null) {
    storefront.kill('SIGTERM');
    await new Promise((done) => {
      const force = setTimeout(() => {
        storefront.kill('SIGKILL');
        done();
      }, 10_000);
      storefront.once('exit', () => {
        clearTimeout(force);
        done();
      });
    });
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** The tool-text helper in `target`, and its console and page errors recorded. */
async function watchPage(target) {
  await target.addInitScript(TOOL_TEXT);
  target.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  target.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
}

/** In the page: the text of the variables and headers editors. */
const TOOL_TEXT = `window.toolText = () => Array.from(
  document.querySelectorAll('.graphiql-editor-tool .view-lines'), (e) => e.textContent).join('\\n').replace(/\\u00a0/g, ' ');`;

/** The text Monaco shows in the response pane. */
async function responseText() {
  // Monaco renders spaces as no-break spaces.
  return (await page.locator('.graphiql-response .view-lines').innerText()).replace(/\u00a0/g, ' ');
}

/** Runs `schema/operations/<name>.graphql` with a request of its own (not through the page). */
async function operation(name, variables, token) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: readFileSync(join(OPERATIONS, `${name}.graphql`), 'utf8'), variables }),
    signal: AbortSignal.timeout(STEP_TIMEOUT),
  });
  const body = await response.json();
  assert.equal(body.errors, undefined, `${name}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/**
 * Waits until the response pane shows `expected` (compared without
 * whitespace: the pane wraps long lines); returns the pane's text.
 */
async function responseShows(expected) {
  try {
    await page.waitForFunction(
      (expected) =>
        document
          .querySelector('.graphiql-response .view-lines')
          ?.innerText.replace(/\s+/g, '')
          .includes(expected.replace(/\s+/g, '')),
      expected,
    );
  } catch (error) {
    const shown = await responseText().catch(() => '(no response pane)');
    throw new Error(`${error.message}\nwaiting for ${expected}; the response pane shows:\n${shown}`);
  }
  return responseText();
}

/** Replaces the active tab's variables with `variables` (typed into the editor). */
async function setVariables(variables) {
  await page.locator('.graphiql-editor-tools button[data-name="variables"]').click();
  const editor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // insertText: one input, so the editor's bracket and quote auto-closing does not apply.
  const text = JSON.stringify(variables);
  await page.keyboard.insertText(text);
  await page.waitForFunction((text) => toolText().includes(text), text);
}

async function openTab(name) {
  await page.locator('.graphiql-tab-button', { hasText: new RegExp(`^\\s*${name}\\s*$`) }).click();
  await page.waitForFunction(
    (name) => document.querySelector('.graphiql-tab-active')?.textContent?.includes(name),
    name,
  );
}

/** Runs the active tab's operation and waits for a response containing `expected`. */
async function run(expected) {
  await page.locator('.graphiql-execute-button').click();
  return responseShows(expected);
}

test('the page loads from the router with its editors and the example tabs', async () => {
  const response = await page.goto(`${base}/`);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'], /default-src 'self'/);
  await page.locator('.graphiql-container').waitFor();
  await page.locator('.graphiql-query-editor .monaco-editor').waitFor();
  const tabs = await page.locator('.graphiql-tab-button').allInnerTexts();
  for (const name of ['Products', 'Register', 'Login', 'Me', 'OrderUpdated', 'MyOrders']) {
    assert.ok(tabs.some((t) => t.includes(name)), `no ${name} tab in ${tabs}`);
  }
  // The headers editor is open and prefilled.
  await page.waitForFunction(() => toolText().includes('"Authorization": "Bearer "'));
  // The schema arrived (introspection through the router): the docs explorer works.
  await page.locator('[aria-label="Show Documentation Explorer"]').waitFor();
  // The examples panel is open on a first visit.
  await page.locator('[data-example="CancelOrder"]').waitFor();
  const start = SCREENSHOT.replace(/(\.png)?$/, '-start.png');
  await page.screenshot({ path: start });
  console.log(`screenshot: ${start}`);
});

test('the products query runs and its result shows in the page', async () => {
  await openTab('Products');
  const text = await run('MUG-STONEWARE-12OZ');
  assert.match(text, /"products"/);
  assert.match(text, /"price"/);
});

test('register, log in through the example, use the token helper, then run me', async () => {
  await openTab('Register');
  await run('"token"');
  await openTab('Login');
  await run('"token"');
  const useToken = page.locator('[data-testid="use-token"]');
  await assert.doesNotReject(useToken.click());
  await page.waitForFunction(() => /"Authorization": "Bearer ey/.test(toolText()));
  await openTab('Me');
  const text = await run('admin@example.com');
  assert.match(text, /"role": "ADMIN"/);
});

test('the query plan panel shows the router plan for the last operation', async () => {
  // An order first (with the token from above), so MyOrders spans all four subgraphs.
  await openTab('CreateOrder');
  await run('"PENDING_PAYMENT"');
  await openTab('MyOrders');
  await run('"PENDING_PAYMENT"');
  await page.locator('[aria-label="Show Query plan"]').click();
  const plan = page.locator('[data-testid="query-plan"]');
  await plan.waitFor();
  const text = await plan.innerText();
  assert.match(text, /QueryPlan/);
  assert.match(text, /Fetch\(service: "users"\)/);
  assert.match(text, /Fetch\(service: "orders"\)/);
  assert.match(text, /Fetch\(service: "inventory"\)/);
  await page.screenshot({ path: SCREENSHOT });
  console.log(`screenshot: ${SCREENSHOT}`);
});

test('the OrderUpdated subscription shows the order turn PAID when a separate request pays it', async () => {
  // The token the page uses (the token helper put it into every tab above).
  const token = (await page.evaluate(() => toolText())).match(/"Authorization": "Bearer (ey[^"]+)"/)?.[1];
  assert.ok(token, 'no token in the headers editor');
  const { createOrder } = await operation(
    'CreateOrder',
    { items: [{ sku: 'MUG-STONEWARE-12OZ', quantity: 1 }] },
    token,
  );
  assert.equal(createOrder.status, 'PENDING_PAYMENT');

  // Subscribe in the page: the first event is the order as it is now.
  await openTab('OrderUpdated');
  await setVariables({ id: createOrder.id });
  const before = sockets.length;
  await page.locator('.graphiql-execute-button').click();
  let text = await responseShows('"PENDING_PAYMENT"');
  assert.ok(text.includes(createOrder.id), `another order's event:\n${text}`);
  // Still subscribed: the execute button is the stop button.
  await page.locator('.graphiql-execute-button[aria-label^="Stop"]').waitFor();

  // Pay it with a request of its own; the event arrives in the page.
  const { payOrder } = await operation(
    'PayOrder',
    { orderId: createOrder.id, paymentToken: 'tok_visa', idempotencyKey: `e2e-${createOrder.id}` },
    token,
  );
  assert.equal(payOrder.order.status, 'PAID');
  text = await responseShows('"PAID"');
  // Fields from every subgraph: payment (payments), product (inventory), buyer (users).
  assert.match(text, /"payment": \{\s*"status": "SUCCEEDED"/);
  assert.match(text, /"name": "Stoneware Coffee Mug"/);
  assert.match(text, /"buyer": \{\s*"name": "Ada Admin"/);
  assert.ok(text.includes(createOrder.id));
  await page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, '-subscription.png') });

  // It went over one WebSocket to this origin's /graphql, the token in connection_init.
  const opened = sockets.slice(before);
  assert.equal(opened.length, 1, `sockets opened: ${JSON.stringify(opened.map((s) => s.url))}`);
  const [socket] = opened;
  assert.equal(socket.url, `${base.replace(/^http/, 'ws')}/graphql`);
  const init = JSON.parse(socket.sent[0]);
  assert.equal(init.type, 'connection_init');
  assert.equal(init.payload.Authorization, `Bearer ${token}`);
  const subscribe = JSON.parse(socket.sent[1]);
  assert.equal(subscribe.type, 'subscribe');
  assert.deepEqual(subscribe.payload.variables, { id: createOrder.id });
  const events = socket.received.map((f) => JSON.parse(f)).filter((m) => m.type === 'next');
  const statuses = events.map((m) => m.payload.data.orderUpdated.status);
  assert.equal(statuses[0], 'PENDING_PAYMENT', `events: ${statuses}`);
  assert.equal(statuses.at(-1), 'PAID', `events: ${statuses}`);

  // The stop button ends the subscription and closes the socket.
  await page.locator('.graphiql-execute-button').click();
  await page.locator('.graphiql-execute-button[aria-label^="Execute"]').waitFor();
  const deadline = Date.now() + STEP_TIMEOUT;
  while (!socket.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(socket.closed, 'the socket is still open after stop');
  assert.ok(
    socket.sent.some((f) => JSON.parse(f).type === 'complete'),
    'no complete sent for the subscription',
  );
});

test('an example opened from the examples panel keeps the token of the tab it was opened from', async () => {
  await page.locator('[aria-label="Show Examples"]').click();
  const tabs = await page.locator('.graphiql-tab-button').count();
  await page.locator('[data-example="Order"]').click();
  await page.waitForFunction((tabs) => document.querySelectorAll('.graphiql-tab-button').length === tabs + 1, tabs);
  await page.waitForFunction(() =>
    document.querySelector('.graphiql-query-editor .view-lines')?.textContent.replace(/\u00a0/g, ' ').includes('query Order('),
  );
  await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
  const headers = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .view-lines');
  await page.waitForFunction(
    (element) => /"Authorization": "Bearer ey/.test(element.textContent.replace(/\u00a0/g, ' ')),
    await headers.elementHandle(),
  );
});

test('a subscription with a refused token shows why the socket closed and can run again', async () => {
  await openTab('OrderUpdated');
  await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
  const editor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText('{"Authorization": "Bearer not-a-token"}');
  await page.waitForFunction(() => toolText().includes('Bearer not-a-token'));
  const text = (await run('closed with 4403: Forbidden')).replace(/\s+/g, '');
  assert.ok(text.startsWith('{"errors":[{"message":"TheWebSocketto'), text);
  // It ended: the button runs again rather than stopping.
  await page.locator('.graphiql-execute-button[aria-label^="Execute"]').waitFor();
});

test('the deferred order example shows the order first and its payment when the slow payments subgraph answers', async () => {
  // The admin registered above, logged in with a request of its own.
  const { login } = await operation('Login', { email: 'admin@example.com', password: 'battery staple' });
  const { token } = login;
  const { createOrder } = await operation('CreateOrder', { items: [{ sku: 'MUG-STONEWARE-12OZ', quantity: 1 }] }, token);
  const { payOrder } = await operation(
    'PayOrder',
    { orderId: createOrder.id, paymentToken: 'tok_visa', idempotencyKey: `e2e-defer-${createOrder.id}` },
    token,
  );
  assert.equal(payOrder.order.status, 'PAID');

  // A second router over the same subgraphs, payments behind a proxy that
  // holds its entity fetches (test-only; the local run itself is not slowed).
  const delayed = await startDelayedRouter({
    bin: ROUTER_BIN,
    portBase,
    slow: 'payments',
    delayMs: PAYMENTS_DELAY_MS,
    scratch,
    pidFile: process.env.DELAYED_ROUTER_PID_FILE,
  });
  const main = page;
  const deferPage = await context.newPage();
  try {
    await watchPage(deferPage);
    // Tall enough for the whole answer: Monaco renders only the visible lines.
    await deferPage.setViewportSize({ width: 1600, height: 1600 });
    const exchanges = [];
    deferPage.on('response', async (response) => {
      const request = response.request();
      if (request.method() !== 'POST' || !request.url().endsWith('/graphql')) return;
      if (!(request.postData() ?? '').includes('OrderWithDeferredDetails')) return;
      exchanges.push({ accept: request.headers().accept, type: response.headers()['content-type'] });
    });
    page = deferPage;
    const response = await page.goto(`${delayed.base}/`);
    assert.equal(response.status(), 200);
    await page.locator('.graphiql-query-editor .monaco-editor').waitFor();
    // The examples panel is open on a first visit to this origin.
    await page.locator('[data-example="OrderWithDeferredDetails"]').click();
    await page.waitForFunction(() =>
      document
        .querySelector('.graphiql-query-editor .view-lines')
        ?.textContent.replace(/\u00a0/g, ' ')
        .includes('query OrderWithDeferredDetails('),
    );
    await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
    const headers = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor');
    await headers.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${token}` }));
    await page.waitForFunction((token) => toolText().includes(token), token);
    await setVariables({ id: createOrder.id });

    // Every text the response pane shows, in order, with when it showed.
    await page.evaluate(() => {
      window.paneLog = [];
      const note = () => {
        const text = document.querySelector('.graphiql-response .view-lines')?.innerText.replace(/\s+/g, '') ?? '';
        if (text && text !== window.paneLog.at(-1)?.text) window.paneLog.push({ at: performance.now(), text });
      };
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.locator('.graphiql-execute-button').click();
    // The primary part, while payments still holds its answer.
    await responseShows(`"id": "${createOrder.id}"`);
    await page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, '-defer-primary.png') });
    const text = await responseShows('"payment": { "status": "SUCCEEDED"');
    assert.match(text, /"name": "Stoneware Coffee Mug"/);
    assert.ok(text.includes(createOrder.id), text);
    await page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, '-defer.png') });

    const log = await page.evaluate(() => window.paneLog);
    const id = `"id":"${createOrder.id}"`;
    const primary = log.findIndex((entry) => entry.text.includes(id));
    const paid = log.findIndex((entry) => entry.text.includes('"payment":{"status":"SUCCEEDED"'));
    const shown = JSON.stringify(log.map((entry) => `${Math.round(entry.at)} ms: ${entry.text.slice(0, 300)}`), null, 1);
    assert.ok(primary >= 0 && paid >= 0, shown);
    assert.ok(primary < paid, `the payment showed no later than the order:\n${shown}`);
    assert.ok(!log[primary].text.includes('"payment"'), `the first answer shown had the payment:\n${shown}`);
    assert.ok(log[primary].text.includes('"status":"PAID"'), shown);
    assert.ok(
      log[paid].at - log[primary].at >= PAYMENTS_DELAY_MS / 2,
      `the payment showed ${Math.round(log[paid].at - log[primary].at)} ms after the order:\n${shown}`,
    );
    // The page asked for incremental delivery and the router streamed it.
    assert.equal(exchanges.length, 1, JSON.stringify(exchanges));
    assert.match(exchanges[0].accept, /multipart\/mixed;\s*deferSpec=20220824/);
    assert.match(exchanges[0].type, /^multipart\/mixed/);
    assert.ok(delayed.proxy.delayed >= 1, 'no entity fetch went through the slow payments proxy');
    console.log(`@defer: the order showed, then the payment ${Math.round(log[paid].at - log[primary].at)} ms later`);
  } finally {
    page = main;
    await deferPage.close().catch(() => {});
    await delayed.stop();
  }
});

test('no request left the host and nothing was refused', () => {
  assert.ok(requests.length > 5, `only ${requests.length} requests recorded`);
  const external = requests.filter((url) => {
    const parsed = new URL(url);
    if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return false;
    return !LOCAL_HOSTS.has(parsed.hostname);
  });
  assert.deepEqual(external, [], 'requests to other hosts');
  assert.deepEqual(problems, [], 'console errors or page errors');
});
