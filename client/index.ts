import createClient, { type Client, type Middleware } from "openapi-fetch";
import { IDEMPOTENT_OPERATIONS, LOGIN_PATH, LOGOUT_PATH, REFRESH_PATH } from "./operations.ts";
import type { components, operations, paths } from "./schema.d.ts";

/**
 * A small typed MicroPay client: openapi-fetch over the types openapi-typescript
 * generates from openapi.json (`npm run openapi`). Every route in the document is a
 * typed call, with no code here per route:
 *
 *   const mp = createMicroPayClient({ baseUrl: "http://127.0.0.1:3000" });
 *   await mp.login("ada@example.com", "correct horse battery staple");
 *   const { data, error } = await mp.GET("/v1/me");
 *
 * A merchant's server passes an API key instead: `createMicroPayClient({ baseUrl, apiKey })`.
 *
 * A user with MFA (admins and auditors need it) passes the code as well; it is asked
 * for only when the API answers `mfaRequired`, then sent to POST /v1/auth/mfa:
 *
 *   await mp.login(email, password, { code: () => prompt("TOTP code") });
 *
 * Dual control: a large deposit or a grant of admin or auditor may answer 202 with
 * `{ approvalId, status: "pending_approval" }` (typed as the operation's 202 response;
 * check `response.status`); another admin carries it out with
 * `mp.POST("/v1/admin/approvals/{approvalId}/approve", ...)`.
 *
 * Two things happen on every call, as middleware:
 *
 * - Money-moving operations (`x-idempotent` in the document) get an `Idempotency-Key`
 *   (a random UUID) unless the caller passes one. A retry of the same logical call
 *   must reuse its key: pass `params: { header: { "Idempotency-Key": key } }` then.
 * - After `login`, the access token is sent as a bearer token. A 401 answer makes the
 *   client rotate the refresh token once (POST /v1/auth/refresh; concurrent 401s share
 *   one refresh, since presenting a rotated token twice revokes the whole family) and
 *   retry the request once, with the same body and Idempotency-Key.
 */

export type { components, operations, paths };

export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
}

export interface MicroPayClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:3000` or `https://api.example.com/prod`. */
  readonly baseUrl: string;
  /** A fetch to use instead of globalThis.fetch. */
  readonly fetch?: (request: Request) => Promise<Response>;
  /** Resume a session with tokens saved earlier. */
  readonly tokens?: TokenPair;
  /**
   * An API key (`mp_live_...`, POST /v1/api-keys) for a server: sent as the bearer on
   * every call while no token pair is held; a 401 is final (nothing to refresh).
   */
  readonly apiKey?: string;
  /** Called whenever the token pair changes (login, rotation, logout): persist it here. */
  readonly onTokens?: (tokens: TokenPair | null) => void;
  /** `METHOD /path/{template}` list; defaults to the document's x-idempotent operations. */
  readonly idempotentOperations?: readonly string[];
}

const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** The second login step of a user with MFA. */
const MFA_PATH = "/v1/auth/mfa";

/** The generated types, with the Idempotency-Key header made optional (the client adds it). */
type AutoHeader<H> = H extends { [IDEMPOTENCY_HEADER]: unknown }
  ? Omit<H, typeof IDEMPOTENCY_HEADER> & { [IDEMPOTENCY_HEADER]?: string }
  : H;
type AutoOperation<Op> = Op extends { parameters: { header: infer H } }
  ? Omit<Op, "parameters"> & {
      parameters: Omit<Op["parameters"], "header"> & { header?: AutoHeader<H> };
    }
  : Op;
export type ClientPaths = {
  [P in keyof paths]: { [M in keyof paths[P]]: AutoOperation<paths[P][M]> };
};

export interface MicroPayAuth {
  /**
   * Logs in and keeps the token pair for later calls. For a user with MFA, `code`
   * gives the TOTP (or recovery) code for the second step; without it such a login
   * throws a MicroPayAuthError whose problem is the `{ mfaRequired, mfaToken }` answer.
   */
  login(
    email: string,
    password: string,
    opts?: { readonly code?: () => string | Promise<string> },
  ): Promise<TokenPair>;
  /** Revokes the refresh token's family on the server and forgets the tokens. */
  logout(): Promise<void>;
  /** The current token pair, or null. */
  tokens(): TokenPair | null;
  setTokens(tokens: TokenPair | null): void;
}

export type MicroPayClient = Client<ClientPaths> & MicroPayAuth;

/** A failed login, refresh or logout, with the problem body the API answered. */
export class MicroPayAuthError extends Error {
  override name = "MicroPayAuthError";
  constructor(
    readonly status: number,
    readonly problem: unknown,
  ) {
    super(`MicroPay auth call failed with ${status}`);
  }
}

export function createMicroPayClient(options: MicroPayClientOptions): MicroPayClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const fetchImpl = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const idempotent = new Set(options.idempotentOperations ?? IDEMPOTENT_OPERATIONS);
  let current: TokenPair | null = options.tokens ?? null;
  let refreshing: Promise<boolean> | null = null;
  /** Requests we authorised, kept (cloned, body included) until answered, for one retry. */
  const retryable = new Map<string, Request>();

  const setTokens = (tokens: TokenPair | null) => {
    current = tokens;
    options.onTokens?.(tokens);
  };

  const postJson = async (path: string, body: unknown): Promise<Response> =>
    fetchImpl(
      new Request(`${baseUrl}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      }),
    );

  const readPair = async (response: Response): Promise<TokenPair> => {
    const body = (await response.json().catch(() => null)) as Partial<TokenPair> | null;
    if (!response.ok || typeof body?.accessToken !== "string" || !body.refreshToken) {
      throw new MicroPayAuthError(response.status, body);
    }
    return { accessToken: body.accessToken, refreshToken: body.refreshToken };
  };

  /** One refresh at a time: concurrent 401s wait for the same rotation. */
  const refresh = (): Promise<boolean> => {
    if (refreshing) return refreshing;
    const presented = current?.refreshToken;
    refreshing = (async () => {
      if (!presented) return false;
      try {
        setTokens(await readPair(await postJson(REFRESH_PATH, { refreshToken: presented })));
        return true;
      } catch {
        // Rotated away, expired or revoked: the session is over.
        if (current?.refreshToken === presented) setTokens(null);
        return false;
      }
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  };

  const withBearer = (request: Request, accessToken: string): Request => {
    const headers = new Headers(request.headers);
    headers.set("Authorization", `Bearer ${accessToken}`);
    return new Request(request, { headers });
  };

  const middleware: Middleware = {
    onRequest({ request, schemaPath, id }) {
      let out = request;
      if (
        idempotent.has(`${request.method.toUpperCase()} ${schemaPath}`) &&
        !request.headers.has(IDEMPOTENCY_HEADER)
      ) {
        const headers = new Headers(out.headers);
        headers.set(IDEMPOTENCY_HEADER, globalThis.crypto.randomUUID());
        out = new Request(out, { headers });
      }
      if (current && !out.headers.has("Authorization")) {
        out = withBearer(out, current.accessToken);
        if (schemaPath !== REFRESH_PATH && schemaPath !== LOGIN_PATH) {
          retryable.set(id, out.clone());
        }
      } else if (!current && options.apiKey && !out.headers.has("Authorization")) {
        out = withBearer(out, options.apiKey);
      }
      return out;
    },
    async onResponse({ response, id }) {
      const original = retryable.get(id);
      retryable.delete(id);
      if (response.status !== 401 || !original) return undefined;
      const sentWith = original.headers.get("Authorization");
      // Another call may already have rotated the pair while this one was in flight.
      const rotated = current !== null && sentWith !== `Bearer ${current.accessToken}`;
      if (!rotated && !(await refresh())) return undefined;
      if (!current) return undefined;
      return fetchImpl(withBearer(original, current.accessToken));
    },
    onError({ id }) {
      retryable.delete(id);
    },
  };

  const client = createClient<ClientPaths>({ baseUrl, fetch: fetchImpl });
  client.use(middleware);

  const auth: MicroPayAuth = {
    async login(email, password, opts) {
      const first = await postJson(LOGIN_PATH, { email, password });
      const body = (await first
        .clone()
        .json()
        .catch(() => null)) as { mfaRequired?: boolean; mfaToken?: string } | null;
      let pair: TokenPair;
      if (first.ok && body?.mfaRequired === true && typeof body.mfaToken === "string") {
        if (!opts?.code) throw new MicroPayAuthError(first.status, body);
        const code = await opts.code();
        pair = await readPair(await postJson(MFA_PATH, { mfaToken: body.mfaToken, code }));
      } else {
        pair = await readPair(first);
      }
      setTokens(pair);
      return pair;
    },
    async logout() {
      const pair = current;
      setTokens(null);
      if (!pair) return;
      const response = await fetchImpl(
        new Request(`${baseUrl}${LOGOUT_PATH}`, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            Authorization: `Bearer ${pair.accessToken}`,
          },
          body: JSON.stringify({ refreshToken: pair.refreshToken }),
        }),
      );
      if (!response.ok) throw new MicroPayAuthError(response.status, await response.text());
    },
    tokens: () => current,
    setTokens,
  };
  return Object.assign(client, auth);
}
