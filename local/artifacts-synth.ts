import { App } from "aws-cdk-lib";
import { buildApp } from "../infra/app.ts";

/**
 * `tsx local/artifacts-synth.ts <outDir> [stage]`: synthesizes the CDK app as
 * infra/app.ts builds it (cdk-nag packs included, bundling for real) into outDir.
 * Run by local/artifacts.ts `synthesize` for the artifacts mode of the local stack.
 */
const [outdir, stage = "dev"] = process.argv.slice(2);
if (!outdir) {
  process.stderr.write("usage: artifacts-synth.ts <outDir> [stage]\n");
  process.exit(2);
}
const app = new App({ outdir, context: { stage } });
buildApp(app);
app.synth();
