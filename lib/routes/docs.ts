import * as z from "zod";
import { defineRoute } from "./types.ts";

/**
 * The API's own documentation: the OpenAPI document (built from this route table by
 * lib/openapi.ts), the human reference page, and the page's renderer script, served
 * from the project's own dependencies (no CDN: the page works offline).
 *
 * A non-JSON response is declared as a string schema with `contentMediaType`; the
 * OpenAPI generator uses that media type for the response.
 */
export const openapiRoute = defineRoute({
  id: "openapi",
  method: "GET",
  path: "/openapi.json",
  summary: "The OpenAPI 3.1 document of this API",
  tags: ["System"],
  auth: "none",
  response: z
    .looseObject({
      openapi: z.string().regex(/^3\.1\.\d+$/),
      info: z.looseObject({ title: z.string(), version: z.string() }),
      paths: z.record(z.string(), z.unknown()),
    })
    .meta({ description: "An OpenAPI 3.1 document (JSON), generated from the route table." }),
  successStatus: 200,
  tableAccess: "none",
  usesSigningKey: false,
});

export const docsRoute = defineRoute({
  id: "docs",
  method: "GET",
  path: "/docs",
  summary: "Human API reference page (renders /openapi.json)",
  tags: ["System"],
  auth: "none",
  response: z.string().meta({ contentMediaType: "text/html" }),
  successStatus: 200,
  tableAccess: "none",
  usesSigningKey: false,
});

export const docsAssetRoute = defineRoute({
  id: "docs-asset",
  method: "GET",
  path: "/docs/scalar.js",
  summary: "The reference page's renderer (Scalar API Reference, standalone bundle)",
  tags: ["System"],
  auth: "none",
  response: z.string().meta({ contentMediaType: "text/javascript" }),
  successStatus: 200,
  tableAccess: "none",
  usesSigningKey: false,
  assets: [{ module: "@scalar/api-reference/browser/standalone.js", file: "scalar-standalone.js" }],
});

export const docsRoutes = [openapiRoute, docsRoute, docsAssetRoute] as const;
