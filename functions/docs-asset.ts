import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { httpHandler } from "../lib/http/handler.ts";
import { docsAssetRoute } from "../lib/routes/docs.ts";

/**
 * Serves Scalar's standalone bundle from the project's own dependencies, so /docs
 * needs no CDN. Read once per container: in Lambda from `scalar-standalone.js` beside
 * the bundled handler (the CDK bundling copies it there), locally from node_modules.
 */
export const SCALAR_ASSET_FILE = "scalar-standalone.js";

function locateBundle(): string {
  const beside = join(dirname(fileURLToPath(import.meta.url)), SCALAR_ASSET_FILE);
  if (existsSync(beside)) return beside;
  return createRequire(import.meta.url).resolve("@scalar/api-reference/browser/standalone.js");
}

const script = readFileSync(locateBundle(), "utf8");

export const handler = httpHandler(docsAssetRoute, async () => ({
  status: 200,
  rawBody: script,
  contentType: "text/javascript; charset=utf-8",
}));
