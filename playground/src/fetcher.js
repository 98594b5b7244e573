// The playground's fetcher: POSTs queries and mutations to the router's
// /graphql on this origin, always asking for the query plan
// (`x-storefront-query-plan: true`; the router answers with it only when
// EXPOSE_QUERY_PLAN is on), and runs subscriptions over WebSocket on the same
// path (ws(s)://<host>/graphql, `graphql-transport-ws` through npm graphql-ws)
// with the headers editor's `Authorization` in `connection_init`. Queries may
// use `@defer`: it accepts `multipart/mixed;deferSpec=20220824` and hands a
// multipart answer to GraphiQL part by part (read by npm meros, as GraphiQL's
// own createGraphiQLFetcher does), which merges the increments into the
// response pane as they arrive. It keeps the last result so the plan panel and
// the token helper can read it.
import { Kind, parse } from 'graphql';
import { createClient } from 'graphql-ws';
import { meros } from 'meros/browser';

/** Must match `QUERY_PLAN_HEADER` in router/src/http.rs. */
export const QUERY_PLAN_HEADER = 'x-storefront-query-plan';

const ENDPOINT = new URL('graphql', window.location.href).href;

/** The same endpoint for WebSocket: ws:// on http, wss:// on https. */
export const WS_ENDPOINT = (() => {
  const url = new URL(ENDPOINT);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
})();

let last = { operationName: null, response: null, plan: null, planAsked: false, subscription: false };
const listeners = new Set();

/** The last operation this playground ran (not introspection). */
export function lastRun() {
  return last;
}

/** Calls `listener` after every operation; returns the unsubscribe function. */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * GraphiQL works out the operation name from the editor a moment after it
 * changes, so right after switching tabs it can still name the previous tab's
 * operation. When the document does not define that name and has exactly one
 * operation, that operation is meant.
 */
function withOperationName(params) {
  if (!params.operationName) return params;
  let operations;
  try {
    operations = parse(params.query).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  } catch {
    return params; // the router reports the syntax error
  }
  if (operations.some((o) => o.name?.value === params.operationName) || operations.length !== 1) {
    return params;
  }
  return { ...params, operationName: operations[0].name?.value ?? null };
}

function isIntrospection(params) {
  return params.operationName === 'IntrospectionQuery';
}

/** Whether the operation to run (by name, else the only one) is a subscription. */
function isSubscription(params) {
  let operations;
  try {
    operations = parse(params.query).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  } catch {
    return false; // the router reports the syntax error
  }
  const operation = params.operationName
    ? operations.find((o) => o.name?.value === params.operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  return operation?.operation === 'subscription';
}

/** The headers editor's headers; `Authorization: Bearer` without a token is the prefilled placeholder: not sent. */
function editorHeaders(headers) {
  const kept = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'authorization' && /^\s*bearer\s*$/i.test(String(value))) continue;
    kept[name] = String(value);
  }
  return kept;
}

/**
 * What the fetcher accepts: incremental delivery for `@defer` (Apollo's
 * `deferSpec=20220824` multipart, what the router streams) and plain JSON;
 * the router answers JSON unless the operation defers something.
 */
export const ACCEPT = 'multipart/mixed;deferSpec=20220824, application/graphql-response+json, application/json';

function requestHeaders(headers) {
  return {
    accept: ACCEPT,
    'content-type': 'application/json',
    ...editorHeaders(headers),
  };
}

function record(run) {
  last = run;
  for (const listener of listeners) listener();
}

/** A socket closed or failed, or a refused subscription, as the `errors` of a result. */
function asErrors(error) {
  if (Array.isArray(error)) return error; // the router's `error` message: GraphQL errors
  if (error && typeof error === 'object' && 'code' in error && 'reason' in error) {
    // A CloseEvent: 4403 is a refused token, 1001 the router shutting down, 1006 no connection.
    const reason = error.reason ? `: ${error.reason}` : '';
    return [{ message: `The WebSocket to ${WS_ENDPOINT} closed with ${error.code}${reason}` }];
  }
  if (error instanceof Error) return [{ message: error.message }];
  return [{ message: `The WebSocket to ${WS_ENDPOINT} failed` }];
}

/**
 * A subscription over its own WebSocket (so `connection_init` carries this
 * tab's `Authorization`), as the Observable GraphiQL shows event by event: the
 * response pane holds the latest event, and the execute button stops it. An
 * error (refused operation, closed socket) shows as a result with `errors` and
 * ends it; nothing is retried behind the user's back.
 */
function subscription(params, headers) {
  return {
    subscribe(observer) {
      const client = createClient({
        url: WS_ENDPOINT,
        connectionParams: headers,
        lazy: true,
        lazyCloseTimeout: 0,
        retryAttempts: 0,
      });
      // Ended (stopped, completed or failed): later callbacks of this socket
      // must not touch GraphiQL, which may already run the next operation.
      let done = false;
      const end = () => {
        if (done) return false;
        done = true;
        client.dispose();
        return true;
      };
      const show = (body) => {
        const operationName = params.operationName ?? null;
        record({ operationName, response: body, plan: null, planAsked: false, subscription: true });
        observer.next(body);
      };
      const unsubscribe = client.subscribe(params, {
        next(result) {
          if (!done) show(result);
        },
        error(error) {
          if (done) return;
          show({ errors: asErrors(error) });
          end();
          observer.complete();
        },
        complete() {
          if (end()) observer.complete();
        },
      });
      return {
        unsubscribe() {
          if (done) return;
          unsubscribe(); // sends `complete` to the router
          end();
        },
      };
    },
  };
}

/** `body` without the query plan extension, and the plan (null when absent). */
function takePlan(body) {
  if (!body || typeof body !== 'object' || !body.extensions || !('queryPlan' in body.extensions)) {
    return { body, plan: null };
  }
  const { queryPlan, ...extensions } = body.extensions;
  const rest = { ...body, extensions };
  if (Object.keys(extensions).length === 0) delete rest.extensions;
  return { body: rest, plan: queryPlan };
}

/**
 * A `multipart/mixed` answer (`@defer`) as the async iterable GraphiQL reads:
 * each batch of parts as it arrives (the primary payload first, then
 * `{incremental: [...], hasNext}` parts), which GraphiQL merges. The plan
 * panel and `lastRun()` get the primary payload.
 */
async function* increments(parts, operationName) {
  let first = true;
  for await (const batch of parts) {
    const bodies = [];
    for (const part of batch) {
      if (!part.json) throw new Error(`a multipart part that is not JSON: ${String(part.body).slice(0, 500)}`);
      const { body, plan } = takePlan(part.body);
      if (first) {
        first = false;
        record({ operationName, response: body, plan, planAsked: true, subscription: false });
      }
      bodies.push(body);
    }
    yield bodies;
  }
}

export async function fetcher(graphiqlParams, options) {
  const params = withOperationName(graphiqlParams);
  if (isSubscription(params)) return subscription(params, editorHeaders(options?.headers));
  const introspection = isIntrospection(params);
  const headers = requestHeaders(options?.headers);
  if (!introspection) headers[QUERY_PLAN_HEADER] = 'true';
  const response = await fetch(ENDPOINT, {
    method: 'POST',
    headers,
    body: JSON.stringify(params),
  });
  if (!introspection && /^\s*multipart\/mixed/i.test(response.headers.get('content-type') ?? '')) {
    const parts = await meros(response, { multiple: true });
    if (parts !== response) return increments(parts, params.operationName ?? null);
  }
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 500)}` }] };
  }
  if (introspection) return body;
  // The plan is shown in its own panel, not as one long string in the response.
  let plan;
  ({ body, plan } = takePlan(body));
  record({ operationName: params.operationName ?? null, response: body, plan, planAsked: true, subscription: false });
  return body;
}

/** The token in the last `login`/`register` result, if any. */
export function tokenFromLastRun() {
  const data = last.response?.data;
  return data?.login?.token ?? data?.register?.token ?? null;
}
