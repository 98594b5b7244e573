// Composes the committed subgraph schemas (schema/*.graphql) with Apollo's
// composition and writes the reference supergraph fixture
// router/tests/fixtures/apollo-supergraph.graphql.
//
//   cd router/tests/apollo-composition && npm ci && node compose.mjs
//
// It also composes every case of cases/ (see README.md).
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const here = dirname(fileURLToPath(import.meta.url));
const schemaDir = join(here, "..", "..", "..", "schema");
const output = join(here, "..", "fixtures", "apollo-supergraph.graphql");

// The same names and local URLs the router uses by default.
const subgraphs = [
  ["users", "http://127.0.0.1:4001/graphql"],
  ["orders", "http://127.0.0.1:4002/graphql"],
  ["payments", "http://127.0.0.1:4003/graphql"],
  ["inventory", "http://127.0.0.1:4004/graphql"],
];

const services = subgraphs.map(([name, url]) => ({
  name,
  url,
  typeDefs: parse(readFileSync(join(schemaDir, `${name}.graphql`), "utf8")),
}));

const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) {
    console.error(`${error.extensions?.code ?? "ERROR"}: ${error.message}`);
  }
  process.exit(1);
}
for (const hint of result.hints ?? []) {
  console.error(`hint ${hint.definition?.code ?? ""}: ${hint.message}`);
}
writeFileSync(output, result.supergraphSdl.endsWith("\n") ? result.supergraphSdl : `${result.supergraphSdl}\n`);
console.error(`wrote ${output}`);

// Feature cases: every folder of cases/ holds one subgraph per `<name>.graphql`;
// Apollo's supergraph goes to `apollo.graphql`, or its error codes (sorted,
// one a line) to `apollo-errors.txt`.
const casesDir = join(here, "cases");
for (const name of readdirSync(casesDir).sort()) {
  const dir = join(casesDir, name);
  const files = readdirSync(dir).filter((f) => f.endsWith(".graphql") && !f.startsWith("apollo"));
  let result;
  try {
    result = composeServices(
      files.map((file) => ({
        name: file.replace(/\.graphql$/, ""),
        url: `http://${file.replace(/\.graphql$/, "")}.local/graphql`,
        typeDefs: parse(readFileSync(join(dir, file), "utf8")),
      })),
    );
  } catch (error) {
    result = { errors: [{ extensions: { code: "INVALID_GRAPHQL" }, message: String(error) }] };
  }
  rmSync(join(dir, "apollo.graphql"), { force: true });
  rmSync(join(dir, "apollo-errors.txt"), { force: true });
  if (result.errors && result.errors.length > 0) {
    const codes = [...new Set(result.errors.map((e) => e.extensions?.code ?? "UNKNOWN"))].sort();
    writeFileSync(join(dir, "apollo-errors.txt"), codes.join("\n") + "\n");
    for (const e of result.errors) console.error(`${name}: ${e.extensions?.code}: ${e.message.split("\n")[0]}`);
  } else {
    writeFileSync(join(dir, "apollo.graphql"), result.supergraphSdl.endsWith("\n") ? result.supergraphSdl : `${result.supergraphSdl}\n`);
  }
}
