// The Storefront playground: GraphiQL 5 with the example operations as tabs
// and a picker, a headers editor prefilled with `Authorization: Bearer`, a
// toolbar button that puts the token from the last login/register result into
// it, and a panel with the router's query plan for the last operation run.
// Subscriptions run over WebSocket (see fetcher.js): the response pane shows
// the latest event until the execute button, now a stop button, ends it.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './style.css';

import { StrictMode, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { ToolbarButton, useGraphiQL, useGraphiQLActions } from '@graphiql/react';

import { EXAMPLES, TAB_EXAMPLES } from './examples.js';
import { fetcher, lastRun, subscribe, tokenFromLastRun } from './fetcher.js';

const DEFAULT_HEADERS = JSON.stringify({ Authorization: 'Bearer ' }, null, 2);

const DEFAULT_TABS = TAB_EXAMPLES.map((name) => EXAMPLES.find((e) => e.name === name))
  .filter(Boolean)
  .map((example) => ({
    query: example.query,
    variables: example.variables,
    headers: DEFAULT_HEADERS,
  }));

function useLastRun() {
  return useSyncExternalStore(subscribe, lastRun);
}

// ---- examples ----------------------------------------------------------------

function ExamplesIcon() {
  return (
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <path d="M4 5h16M4 10h16M4 15h10M4 20h7" strokeLinecap="round" />
    </svg>
  );
}

function ExamplesPanel() {
  const { addTab } = useGraphiQLActions();
  const queryEditor = useGraphiQL((s) => s.queryEditor);
  const variableEditor = useGraphiQL((s) => s.variableEditor);
  const headerEditor = useGraphiQL((s) => s.headerEditor);
  const open = (example) => {
    // A new tab starts with the default headers: keep this tab's (the token).
    const headers = headerEditor?.getValue();
    addTab();
    queryEditor?.setValue(example.query);
    variableEditor?.setValue(example.variables);
    if (headers) headerEditor?.setValue(headers);
  };
  return (
    <section className="sf-panel" aria-label="Example operations">
      <div className="graphiql-doc-explorer-title">Examples</div>
      <p className="sf-muted">
        The operations in <code>schema/operations/</code>. Click one to open it in a new tab.
      </p>
      <ul className="sf-examples">
        {EXAMPLES.map((example) => (
          <li key={example.name}>
            <button type="button" onClick={() => open(example)} data-example={example.name}>
              <strong>{example.name}</strong>
              <span>{example.description}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

const EXAMPLES_PLUGIN = { title: 'Examples', icon: ExamplesIcon, content: ExamplesPanel };

// ---- query plan ----------------------------------------------------------------

function PlanIcon() {
  return (
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <rect x="9" y="2.5" width="6" height="4" rx="1" />
      <rect x="2.5" y="17.5" width="6" height="4" rx="1" />
      <rect x="15.5" y="17.5" width="6" height="4" rx="1" />
      <path d="M12 6.5v5M5.5 17.5v-3h13v3M12 11.5v3" />
    </svg>
  );
}

function PlanPanel() {
  const run = useLastRun();
  let body;
  if (run.subscription) {
    body = (
      <p className="sf-muted" data-testid="plan-subscription">
        Subscriptions run over WebSocket, which carries no plan. <code>router plan --supergraph FILE QUERY</code>{' '}
        prints it: the subscription to one subgraph, then the fetches each event runs.
      </p>
    );
  } else if (!run.planAsked) {
    body = <p className="sf-muted">Run an operation to see how the router plans it across the subgraphs.</p>;
  } else if (run.plan == null) {
    body = (
      <div className="sf-notice" data-testid="plan-disabled">
        <p>The router did not return a query plan: it only does when its settings allow it.</p>
        <p>
          Start the router with <code>EXPOSE_QUERY_PLAN=true</code> (or{' '}
          <code>expose_query_plan = true</code> in its <code>[service]</code> settings). The local run,{' '}
          <code>cargo run --release</code>, has it on.
        </p>
      </div>
    );
  } else {
    body = (
      <pre className="sf-plan" data-testid="query-plan">
        {typeof run.plan === 'string' ? run.plan : JSON.stringify(run.plan, null, 2)}
      </pre>
    );
  }
  return (
    <section className="sf-panel" aria-label="Query plan">
      <div className="graphiql-doc-explorer-title">Query plan</div>
      {(run.planAsked || run.subscription) && (
        <p className="sf-muted">
          For the last operation run{run.operationName ? <>: <code>{run.operationName}</code></> : null}
        </p>
      )}
      {body}
    </section>
  );
}

const PLAN_PLUGIN = { title: 'Query plan', icon: PlanIcon, content: PlanPanel };

// ---- token helper --------------------------------------------------------------

/** `headers` (the editor's JSON) with `Authorization: Bearer <token>`; unchanged if not JSON. */
function withAuthorization(headers, token) {
  let parsed;
  try {
    parsed = JSON.parse(headers?.trim() ? headers : '{}');
  } catch {
    return headers;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return headers;
  const rest = Object.fromEntries(Object.entries(parsed).filter(([k]) => k.toLowerCase() !== 'authorization'));
  return JSON.stringify({ Authorization: `Bearer ${token}`, ...rest }, null, 2);
}

function KeyIcon() {
  return (
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <circle cx="8" cy="15" r="4" />
      <path d="M11 12l9-9M16 7l3 3M14 9l2 2" strokeLinecap="round" />
    </svg>
  );
}

/** Puts the last login/register token into the Authorization header of every tab. */
function UseTokenButton() {
  useLastRun();
  const token = tokenFromLastRun();
  const tabs = useGraphiQL((s) => s.tabs);
  const activeTabIndex = useGraphiQL((s) => s.activeTabIndex);
  const headerEditor = useGraphiQL((s) => s.headerEditor);
  const { moveTab } = useGraphiQLActions();
  const useToken = () => {
    if (!token) return;
    // Every other tab's stored headers; the active tab through its editor.
    const active = tabs[activeTabIndex];
    moveTab(tabs.map((tab) => (tab === active ? tab : { ...tab, headers: withAuthorization(tab.headers, token) })));
    headerEditor?.setValue(withAuthorization(headerEditor.getValue(), token));
  };
  return (
    <ToolbarButton
      label={
        token
          ? 'Use the token from the last login/register result (Authorization: Bearer, all tabs)'
          : 'Run Login or Register first, then use its token in the Authorization header'
      }
      onClick={useToken}
      disabled={!token}
      className="sf-token-button"
      data-testid="use-token"
    >
      <KeyIcon />
    </ToolbarButton>
  );
}

// ---- the page ------------------------------------------------------------------

function Playground() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultTabs={DEFAULT_TABS}
      defaultHeaders={DEFAULT_HEADERS}
      defaultEditorToolsVisibility="headers"
      plugins={[EXAMPLES_PLUGIN, PLAN_PLUGIN]}
      visiblePlugin={EXAMPLES_PLUGIN}
      shouldPersistHeaders={false}
    >
      <GraphiQL.Logo>
        <span className="sf-logo">
          Storefront <small>playground</small>
        </span>
      </GraphiQL.Logo>
      <GraphiQL.Toolbar>
        {({ prettify, copy, merge }) => (
          <>
            {prettify}
            {merge}
            {copy}
            <UseTokenButton />
          </>
        )}
      </GraphiQL.Toolbar>
    </GraphiQL>
  );
}

createRoot(document.getElementById('playground')).render(
  <StrictMode>
    <Playground />
  </StrictMode>,
);
