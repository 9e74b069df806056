#!/usr/bin/env bash
# Template and API checks (README, Deploying), run by .ci/run after the tests:
#   1. `cdk synth` of each stage into its own directory. Synthesis itself fails on an
#      unacknowledged cdk-nag finding (infra/nag.ts) or an AWS Control Tower guard rule
#      finding (@cdklabs/cdk-validator-cfnguard; waivers in infra/app.ts).
#   2. cfn-lint on each stage's template: any error, warning or informational finding fails.
#   3. Spectral on openapi.json with .spectral.yaml (spectral:oas and the OWASP API
#      ruleset): any error or warning fails.
# Takes a few minutes: each synth bundles every function and runs cfn-guard.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "check-templates: cfn-lint not found (pip install cfn-lint)" >&2
  exit 1
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/micropay-templates.XXXXXX")
trap 'rm -rf "$out"' EXIT

for stage in dev prod; do
  echo "check-templates: cdk synth ($stage, cdk-nag + Control Tower guard rules)"
  npx cdk synth -q -c "stage=$stage" -o "$out/$stage" >/dev/null
  echo "check-templates: cfn-lint ($stage) $(cfn-lint --version)"
  # cfn-lint exits non-zero on any error (2), warning (4) or informational finding (8).
  cfn-lint -- "$out/$stage/MicroPay-$stage.template.json"
done

echo "check-templates: spectral lint openapi.json"
npx spectral lint openapi.json --ruleset .spectral.yaml --fail-severity=warn

echo "check-templates: cfn-lint (dev, prod), guard rules and Spectral passed"
