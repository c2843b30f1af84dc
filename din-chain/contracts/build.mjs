// Compiles the DIN contracts with the pinned solc-js and writes ../artifacts/*.json
// (ABI, creation and runtime bytecode, compiler settings). `--check` compiles in memory
// and fails when the committed artifacts differ: CI runs it so they never drift.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");
const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, "..", "artifacts");
const check = process.argv.includes("--check");

const PINNED = "0.8.30";
if (!solc.version().startsWith(PINNED + "+")) {
  console.error(`solc ${solc.version()} is not the pinned ${PINNED}: run npm ci in din-chain/contracts`);
  process.exit(1);
}

function listSources(dir, prefix) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listSources(path.join(dir, entry.name), rel));
    else if (entry.name.endsWith(".sol")) out.push(rel);
  }
  return out.sort();
}

const sources = {};
for (const rel of listSources(path.join(here, "src"), "")) {
  sources[`src/${rel}`] = { content: fs.readFileSync(path.join(here, "src", rel), "utf8") };
}

const settings = {
  optimizer: { enabled: true, runs: 100 },
  viaIR: true,
  evmVersion: "cancun",
  metadata: { bytecodeHash: "none" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};
const input = { language: "Solidity", sources, settings };

function findImports(p) {
  const file = path.join(here, "node_modules", p);
  if (fs.existsSync(file)) return { contents: fs.readFileSync(file, "utf8") };
  return { error: `not found: ${p}` };
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
if (!output.contracts && !output.errors) { console.error(JSON.stringify(output)); process.exit(1); }
let failed = false;
for (const e of output.errors ?? []) {
  console.error(e.formattedMessage);
  if (e.severity === "error") failed = true;
}
if (failed) process.exit(1);

const artifacts = {};
for (const [source, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    // Interfaces have no code; internal-only libraries (empty ABI) are inlined into callers.
    if (!source.startsWith("src/") || !c.evm.bytecode.object || c.abi.length === 0) continue;
    const runtime = c.evm.deployedBytecode.object.length / 2;
    if (runtime > 24576) {
      console.error(`${name}: runtime bytecode ${runtime} bytes exceeds EIP-170's 24576`);
      process.exit(1);
    }
    const artifact = {
      contractName: name,
      sourceName: source,
      compiler: { solc: solc.version(), settings: { ...settings, outputSelection: undefined } },
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    const sub = source.startsWith("src/test/") ? "test/" : "";
    artifacts[`${sub}${name}.json`] = JSON.stringify(artifact, null, 2) + "\n";
    console.log(`${name}: ${runtime} bytes runtime`);
  }
}

if (check) {
  let drift = false;
  for (const [file, text] of Object.entries(artifacts)) {
    const p = path.join(outDir, file);
    if (!fs.existsSync(p) || fs.readFileSync(p, "utf8") !== text) {
      console.error(`artifact drift: ${file} differs from a rebuild (run: npm run build in din-chain/contracts)`);
      drift = true;
    }
  }
  const committed = fs.readdirSync(outDir, { recursive: true }).filter((f) => f.endsWith(".json"));
  for (const f of committed) {
    if (!(f in artifacts)) {
      console.error(`artifact drift: ${f} has no source any more`);
      drift = true;
    }
  }
  if (drift) process.exit(1);
  console.log(`${Object.keys(artifacts).length} artifacts match their sources`);
} else {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(outDir, "test"), { recursive: true });
  for (const [file, text] of Object.entries(artifacts)) fs.writeFileSync(path.join(outDir, file), text);
  console.log(`wrote ${Object.keys(artifacts).length} artifacts to ${path.relative(process.cwd(), outDir)}`);
}
