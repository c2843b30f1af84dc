// A `solc` for Slither (crytic-compile) backed by the pinned solc-js that builds the
// artifacts: answers `--version`, and compiles `--standard-json` input from stdin with
// the settings of build.mjs (via-IR, optimizer 100 runs, Cancun), reading sources given
// by URL or content and resolving `@openzeppelin/...` imports from node_modules.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");
const contracts = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

const args = process.argv.slice(2);
if (args.includes("--version")) {
  console.log("solc, the solidity compiler commandline interface");
  console.log(`Version: ${solc.version()}`);
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  console.error(`slither/solc: only --version and --standard-json are supported (got ${args.join(" ")})`);
  process.exit(2);
}

function read(p) {
  for (const base of [process.cwd(), contracts, path.join(contracts, "node_modules")]) {
    const file = path.isAbsolute(p) ? p : path.join(base, p);
    if (fs.existsSync(file)) return fs.readFileSync(file, "utf8");
  }
  return null;
}

const input = JSON.parse(fs.readFileSync(0, "utf8"));
for (const [name, src] of Object.entries(input.sources ?? {})) {
  if (src.content === undefined) {
    const text = read((src.urls ?? [name])[0]);
    if (text === null) {
      console.error(`slither/solc: cannot read ${name}`);
      process.exit(1);
    }
    input.sources[name] = { content: text };
  }
}
input.settings = {
  ...(input.settings ?? {}),
  optimizer: { enabled: true, runs: 100 },
  viaIR: true,
  evmVersion: "cancun",
};
delete input.settings.remappings;
const findImports = (p) => {
  const text = read(p);
  return text === null ? { error: `not found: ${p}` } : { contents: text };
};
process.stdout.write(solc.compile(JSON.stringify(input), { import: findImports }));
