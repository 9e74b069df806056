import * as z from "zod";

/**
 * API Gateway request model (JSON Schema draft 4) from a route's zod body schema, so
 * the edge rejects malformed bodies before a Lambda runs; the handler's zod
 * validation stays the authority. Returns undefined when the schema does not convert
 * cleanly (refs, transforms): the edge then only checks parameters for that route.
 */
export function requestModelSchema(schema: z.ZodType): Record<string, unknown> | undefined {
  let json: Record<string, unknown>;
  try {
    json = z.toJSONSchema(schema, {
      target: "draft-04",
      io: "input",
      unrepresentable: "throw",
    }) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const text = JSON.stringify(json);
  if (text.includes('"$ref"') || text.includes('"$defs"') || text.includes('"definitions"')) {
    return undefined;
  }
  const { $schema: _drop, ...rest } = json;
  return withoutAnnotations(rest) as Record<string, unknown>;
}

/** Drops documentation-only keywords (`example`, `examples`) that draft 4 does not define. */
function withoutAnnotations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutAnnotations);
  if (!value || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "example" || k === "examples") continue;
    out[k] = withoutAnnotations(v);
  }
  return out;
}
