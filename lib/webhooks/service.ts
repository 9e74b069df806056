import { monotonicFactory } from "ulid";
import { type AuditEvent, actorOf, newAuditEvent } from "../audit/events.ts";
import type { CallContext } from "../context.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import { notFound, Refusal } from "../problems.ts";
import {
  type AttemptView,
  type EndpointRecord,
  type EndpointStatus,
  type EndpointView,
  type Page,
  type StoredSecret,
  toEndpointView,
} from "./model.ts";
import { newWebhookSecret } from "./secrets.ts";
import { checkWebhookTarget, type Resolver, type UrlPolicy } from "./url.ts";

/**
 * Webhook endpoints (API.md "Events and signed webhooks"): an owner's own; anyone
 * else's id is a 404. The secret is returned by create and rotate only, and stored
 * sealed (lib/webhooks/secrets.ts). URLs pass lib/webhooks/url.ts when saved.
 */
export interface WebhookStore {
  putNewEndpoint(r: EndpointRecord, audit: AuditEvent): Promise<void>;
  replaceEndpoint(
    r: EndpointRecord,
    previousUpdatedAt: string,
    audit: AuditEvent,
  ): Promise<boolean>;
  getEndpoint(ownerId: string, endpointId: string): Promise<EndpointRecord | undefined>;
  deleteEndpoint(ownerId: string, endpointId: string, audit: AuditEvent): Promise<boolean>;
  listEndpoints(ownerId: string, limit: number, cursor?: string): Promise<Page<EndpointRecord>>;
  listAttempts(endpointId: string, limit: number, cursor?: string): Promise<Page<AttemptView>>;
}

export interface WebhookDeps {
  readonly store: WebhookStore;
  readonly policy: UrlPolicy;
  readonly resolve: Resolver;
  /** Seals signing secrets, the endpoint id as the subject (purpose webhook-secret). */
  readonly secretBox: SecretBox;
  /** How long a rotated-out secret keeps signing. */
  readonly overlapSeconds: number;
  readonly now?: () => Date;
}

const ulid = monotonicFactory();
const newEndpointId = () => `we_${ulid()}`;

export interface CreateEndpointInput {
  readonly url: string;
  readonly enabledEvents: readonly string[];
  readonly description?: string | undefined;
}

export type EndpointWithSecret = EndpointView & { readonly secret: string };

export async function createEndpoint(
  ctx: CallContext,
  input: CreateEndpointInput,
  deps: WebhookDeps,
): Promise<EndpointWithSecret> {
  await checkWebhookTarget(input.url, deps.policy, deps.resolve);
  const now = (deps.now?.() ?? new Date()).toISOString();
  const id = newEndpointId();
  const secret = newWebhookSecret();
  const record: EndpointRecord = {
    id,
    ownerId: ctx.principal.userId,
    url: input.url,
    enabledEvents: [...input.enabledEvents],
    description: input.description ?? null,
    status: "enabled",
    disabledReason: null,
    failingSince: null,
    secrets: [{ sealed: await deps.secretBox.seal(secret, id), createdAt: now }],
    createdAt: now,
    updatedAt: now,
  };
  await deps.store.putNewEndpoint(record, audited(ctx, "webhook_endpoint.created", id));
  return { ...toEndpointView(record), secret };
}

async function own(ctx: CallContext, endpointId: string, deps: WebhookDeps) {
  const r = await deps.store.getEndpoint(ctx.principal.userId, endpointId);
  if (!r) throw notFound("No such webhook endpoint.");
  return r;
}

export async function getEndpointView(
  ctx: CallContext,
  endpointId: string,
  deps: WebhookDeps,
): Promise<EndpointView> {
  return toEndpointView(await own(ctx, endpointId, deps));
}

export async function listEndpointViews(
  ctx: CallContext,
  input: { limit: number; cursor?: string | undefined },
  deps: WebhookDeps,
): Promise<Page<EndpointView>> {
  const page = await deps.store.listEndpoints(ctx.principal.userId, input.limit, input.cursor);
  return { ...page, data: page.data.map(toEndpointView) };
}

export interface UpdateEndpointInput {
  readonly url?: string | undefined;
  readonly enabledEvents?: readonly string[] | undefined;
  readonly description?: string | null | undefined;
  readonly status?: EndpointStatus | undefined;
}

const concurrent = () =>
  new Refusal("concurrent_update", "The endpoint changed meanwhile; read it and try again.");

export async function updateEndpoint(
  ctx: CallContext,
  endpointId: string,
  input: UpdateEndpointInput,
  deps: WebhookDeps,
): Promise<EndpointView> {
  const current = await own(ctx, endpointId, deps);
  if (input.url !== undefined) await checkWebhookTarget(input.url, deps.policy, deps.resolve);
  const next: EndpointRecord = {
    ...current,
    ...(input.url !== undefined ? { url: input.url } : {}),
    ...(input.enabledEvents !== undefined ? { enabledEvents: [...input.enabledEvents] } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(input.status !== undefined ? { status: input.status } : {}),
    // Enabling again (or any change while disabled by MicroPay) starts a fresh record.
    ...(input.status === "enabled" ? { disabledReason: null, failingSince: null } : {}),
    updatedAt: laterThan(current.updatedAt, deps),
  };
  const audit = audited(ctx, "webhook_endpoint.updated", current.id);
  if (!(await deps.store.replaceEndpoint(next, current.updatedAt, audit))) throw concurrent();
  return toEndpointView(next);
}

export async function deleteEndpoint(
  ctx: CallContext,
  endpointId: string,
  deps: WebhookDeps,
): Promise<void> {
  const audit = audited(ctx, "webhook_endpoint.deleted", endpointId);
  if (!(await deps.store.deleteEndpoint(ctx.principal.userId, endpointId, audit))) {
    throw notFound("No such webhook endpoint.");
  }
}

/**
 * A new secret; the current one keeps signing beside it for `overlapSeconds`, older
 * ones are dropped. Only the new secret is returned.
 */
export async function rotateSecret(
  ctx: CallContext,
  endpointId: string,
  deps: WebhookDeps,
): Promise<EndpointWithSecret> {
  const current = await own(ctx, endpointId, deps);
  const nowDate = deps.now?.() ?? new Date();
  const now = nowDate.toISOString();
  const secret = newWebhookSecret();
  const until = new Date(nowDate.getTime() + deps.overlapSeconds * 1000).toISOString();
  const previous = current.secrets[0];
  const secrets: StoredSecret[] = [
    { sealed: await deps.secretBox.seal(secret, current.id), createdAt: now },
    ...(previous && deps.overlapSeconds > 0 ? [{ ...previous, expiresAt: until }] : []),
  ];
  const next: EndpointRecord = {
    ...current,
    secrets,
    updatedAt: laterThan(current.updatedAt, deps),
  };
  const audit = audited(ctx, "webhook_endpoint.secret_rotated", current.id);
  if (!(await deps.store.replaceEndpoint(next, current.updatedAt, audit))) throw concurrent();
  return { ...toEndpointView(next), secret };
}

export async function listDeliveries(
  ctx: CallContext,
  endpointId: string,
  input: { limit: number; cursor?: string | undefined },
  deps: WebhookDeps,
): Promise<Page<AttemptView>> {
  const endpoint = await own(ctx, endpointId, deps);
  return deps.store.listAttempts(endpoint.id, input.limit, input.cursor);
}

/** Now, but strictly after `previous` (updatedAt is the optimistic-lock version). */
function laterThan(previous: string, deps: WebhookDeps): string {
  const now = (deps.now?.() ?? new Date()).getTime();
  return new Date(Math.max(now, Date.parse(previous) + 1)).toISOString();
}

/** The secrets that sign now: the current one and any rotated-out one still in overlap. */
export function liveSecrets(r: EndpointRecord, now: Date): StoredSecret[] {
  return r.secrets.filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now.getTime());
}

/**
 * The audit event of an endpoint change: ids only. Never the URL (its query may carry
 * a receiver's token) and never a secret.
 */
function audited(ctx: CallContext, action: string, endpointId: string): AuditEvent {
  return newAuditEvent(actorOf(ctx), action, {
    targets: { endpointId, ownerId: ctx.principal.userId },
  });
}
