// The playground's fetcher: POSTs to the router's /graphql on this origin,
// always asks for the query plan (`x-storefront-query-plan: true`; the router
// answers with it only when EXPOSE_QUERY_PLAN is on), and keeps the last
// result so the plan panel and the token helper can read it.
import { Kind, parse } from 'graphql';

/** Must match `QUERY_PLAN_HEADER` in router/src/http.rs. */
export const QUERY_PLAN_HEADER = 'x-storefront-query-plan';

const ENDPOINT = new URL('graphql', window.location.href).href;

let last = { operationName: null, response: null, plan: null, planAsked: false };
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

/** `Authorization: Bearer` without a token is the prefilled placeholder: not sent. */
function requestHeaders(editorHeaders) {
  const headers = {
    accept: 'application/graphql-response+json, application/json',
    'content-type': 'application/json',
  };
  for (const [name, value] of Object.entries(editorHeaders ?? {})) {
    if (name.toLowerCase() === 'authorization' && /^\s*bearer\s*$/i.test(String(value))) continue;
    headers[name] = String(value);
  }
  return headers;
}

export async function fetcher(graphiqlParams, options) {
  const params = withOperationName(graphiqlParams);
  const introspection = isIntrospection(params);
  const headers = requestHeaders(options?.headers);
  if (!introspection) headers[QUERY_PLAN_HEADER] = 'true';
  const response = await fetch(ENDPOINT, {
    method: 'POST',
    headers,
    body: JSON.stringify(params),
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 500)}` }] };
  }
  if (introspection) return body;
  // The plan is shown in its own panel, not as one long string in the response.
  let plan = null;
  if (body && typeof body === 'object' && body.extensions && 'queryPlan' in body.extensions) {
    const { queryPlan, ...extensions } = body.extensions;
    plan = queryPlan;
    body = { ...body, extensions };
    if (Object.keys(extensions).length === 0) delete body.extensions;
  }
  last = { operationName: params.operationName ?? null, response: body, plan, planAsked: true };
  for (const listener of listeners) listener();
  return body;
}

/** The token in the last `login`/`register` result, if any. */
export function tokenFromLastRun() {
  const data = last.response?.data;
  return data?.login?.token ?? data?.register?.token ?? null;
}
