"""Runs Slither over din-chain/contracts/src with the pinned solc-js (slither/solc) and
fails on any finding that slither/triage.json does not accept with a reason.

Usage (from din-chain/contracts, with slither-analyzer installed):
    python slither/check.py [path to the slither executable]
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

here = Path(__file__).resolve().parent
contracts = here.parent
slither = sys.argv[1] if len(sys.argv) > 1 else "slither"
triage = json.loads((here / "triage.json").read_text())["triaged"]

with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / "slither.json"
    cmd = [
        slither, "src",
        "--solc", str(here / "solc"),
        "--solc-standard-json",
        "--solc-remaps", "@openzeppelin/=node_modules/@openzeppelin/",
        "--filter-paths", "node_modules|src/test",
        "--json", str(out),
    ]
    run = subprocess.run(cmd, cwd=contracts, capture_output=True, text=True)
    if not out.exists():
        sys.stderr.write(run.stdout[-4000:] + run.stderr[-4000:])
        sys.exit("slither did not run (see above)")
    report = json.loads(out.read_text())

if not report.get("success", False):
    sys.exit(f"slither failed: {report.get('error')}")
findings = report.get("results", {}).get("detectors", [])
untriaged = [
    f for f in findings
    if not any(t["check"] == f["check"] and t["match"] in f["description"] for t in triage)
]
print(f"slither: {len(findings)} findings, {len(findings) - len(untriaged)} triaged (slither/triage.json)")
for f in untriaged:
    print(f"UNTRIAGED [{f['impact']}/{f['confidence']}] {f['check']}: {f['description'].strip()}")
sys.exit(1 if untriaged else 0)
