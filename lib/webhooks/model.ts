/** Webhook endpoints, deliveries and attempts as the domain sees them (API.md). */

export type EndpointStatus = "enabled" | "disabled";

/** A stored signing secret: sealed (lib/webhooks/secrets.ts), with its end if rotated out. */
export interface StoredSecret {
  readonly sealed: string;
  readonly createdAt: string;
  /** Set when a rotation replaced it: it keeps signing until then. */
  readonly expiresAt?: string | undefined;
}

export interface EndpointRecord {
  readonly id: string;
  readonly ownerId: string;
  readonly url: string;
  readonly enabledEvents: readonly string[];
  readonly description: string | null;
  readonly status: EndpointStatus;
  /** Why the dispatcher disabled it (failing since ...), null otherwise. */
  readonly disabledReason: string | null;
  /** When its deliveries started failing with no success since, if they are. */
  readonly failingSince: string | null;
  /** Newest first; the first is the current secret. */
  readonly secrets: readonly StoredSecret[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface EndpointView {
  readonly id: string;
  readonly url: string;
  readonly enabledEvents: readonly string[];
  readonly description: string | null;
  readonly status: EndpointStatus;
  readonly disabledReason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function toEndpointView(r: EndpointRecord): EndpointView {
  return {
    id: r.id,
    url: r.url,
    enabledEvents: r.enabledEvents,
    description: r.description,
    status: r.status,
    disabledReason: r.disabledReason,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export type DeliveryStatus = "pending" | "succeeded" | "failed";

/** One event's delivery to one endpoint (the state the dispatcher and the sweep share). */
export interface DeliveryRecord {
  readonly endpointId: string;
  readonly ownerId: string;
  readonly eventId: string;
  readonly status: DeliveryStatus;
  /** Attempts started so far. */
  readonly attempts: number;
  /** When the next attempt is due (or the running attempt's claim ends), if pending. */
  readonly nextAttemptAt: string | null;
}

/** One attempt, as the deliveries log shows it. */
export interface AttemptView {
  readonly id: string;
  readonly eventId: string;
  readonly attempt: number;
  readonly outcome: "succeeded" | "failed";
  readonly responseStatus: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  readonly attemptedAt: string;
  /** When it will be tried again; null when delivery ended (success or given up). */
  readonly nextAttemptAt: string | null;
}

export interface Page<T> {
  readonly data: T[];
  readonly hasMore: boolean;
  readonly nextCursor: string | null;
}
