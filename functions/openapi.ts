import { httpHandler } from "../lib/http/handler.ts";
import { renderOpenApiJson } from "../lib/openapi.ts";
import { openapiRoute } from "../lib/routes/docs.ts";

/** Built once per container from the route table: the same bytes as openapi.json. */
const document = renderOpenApiJson();

export const handler = httpHandler(openapiRoute, async () => ({
  status: 200,
  rawBody: document,
  contentType: "application/json",
}));
