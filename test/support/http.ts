import { inject } from "vitest";

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: T;
}

/** The shared test stack's API base URL. */
export function apiUrl(): string {
  return inject("stack").apiUrl;
}

/** A plain HTTP call to a local stack, returning status, headers, raw text and parsed JSON. */
export async function call<T = unknown>(
  method: string,
  path: string,
  init: {
    body?: unknown;
    rawBody?: string | Buffer;
    headers?: Record<string, string>;
    token?: string;
    base?: string;
  } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  let body: string | Buffer | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await fetch(`${init.base ?? apiUrl()}${path}`, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: json as T };
}

export const SECURITY_HEADERS = {
  "strict-transport-security": /max-age=31536000/,
  "x-content-type-options": /^nosniff$/,
  "x-frame-options": /^DENY$/,
  "content-security-policy": /frame-ancestors 'none'/,
  "cache-control": /^no-store$/,
  "referrer-policy": /^no-referrer$/,
} as const;

/** Asserts every security header API.md lists is on a response. */
export function missingSecurityHeaders(headers: Headers): string[] {
  return Object.entries(SECURITY_HEADERS)
    .filter(([name, pattern]) => !pattern.test(headers.get(name) ?? ""))
    .map(([name]) => name);
}

/**
 * A request through node:http, for what fetch refuses to send (a body on a GET).
 */
export async function rawCall(
  method: string,
  path: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
  base = apiUrl(),
): Promise<ApiResponse> {
  const { request } = await import("node:http");
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const payload = typeof body === "string" ? Buffer.from(body) : body;
    const sized = { ...headers, "Content-Length": String(payload.length) };
    const req = request(url, { method, headers: sized }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: h, text, json });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}
