import { createHash } from "node:crypto";
import { httpHandler } from "../lib/http/handler.ts";
import { API_TITLE } from "../lib/openapi.ts";
import { docsRoute } from "../lib/routes/docs.ts";

/**
 * The human API reference: Scalar's standalone bundle, served by this API itself at
 * /docs/scalar.js (never a CDN), rendering /openapi.json. URLs are relative, so the
 * page also works under an API Gateway stage prefix (/prod/docs).
 *
 * Scalar is told not to reach the internet: no default fonts (fonts.scalar.com), no
 * telemetry, no Agent chat (it would upload the document), no request proxy (the
 * try-it client calls this API directly, same origin), no developer toolbar.
 */
const SCALAR_CONFIG = {
  url: "openapi.json",
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  showDeveloperTools: "never",
  hideClientButton: true,
  documentDownloadType: "json",
  persistAuth: false,
  defaultOpenFirstTag: true,
  operationTitleSource: "summary",
};

const INLINE_SCRIPT = `Scalar.createApiReference("#app", ${JSON.stringify(SCALAR_CONFIG)});`;
const INLINE_SCRIPT_HASH = createHash("sha256").update(INLINE_SCRIPT, "utf8").digest("base64");

/**
 * Exactly what the page needs: its one inline script (by hash) and the bundle from
 * 'self'; Scalar injects <style> elements at runtime ('unsafe-inline' styles, no
 * scripts); the document and try-it calls go to 'self'; icons are data: URIs.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${INLINE_SCRIPT_HASH}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <link rel="icon" href="data:," />
    <title>${API_TITLE} reference</title>
  </head>
  <body>
    <div id="app"></div>
    <script src="docs/scalar.js"></script>
    <script>${INLINE_SCRIPT}</script>
  </body>
</html>
`;

export const handler = httpHandler(docsRoute, async () => ({
  status: 200,
  rawBody: PAGE,
  contentType: "text/html; charset=utf-8",
  headers: { "Content-Security-Policy": DOCS_CSP },
}));
