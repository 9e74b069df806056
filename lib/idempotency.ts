/**
 * The idempotency vocabulary shared by the HTTP chain (which runs the protocol for every
 * route row with `idempotent: true`, lib/http/idempotency.ts), the domain (which puts
 * the claim into the one transaction of the movement it guards) and the stores (which
 * write the completed record). No HTTP, no DynamoDB: plain data.
 *
 * API.md "Idempotency": the first completed answer (status and body) of a key is
 * stored and replayed byte for byte to a retry with the same key and body.
 */

/** What the chain hands a domain operation for one request under an Idempotency-Key. */
export interface IdempotencyClaim {
  /** Whose key it is (keys are scoped to the caller). */
  readonly scope: string;
  /** The caller's Idempotency-Key (stores keep only its hash). */
  readonly key: string;
  /** sha256 of method, path and raw body of the request. */
  readonly fingerprint: string;
  /** The route the key was first used on. */
  readonly routeId: string;
  /** The success status the answer is stored with. */
  readonly status: number;
}

/** A stored answer of a key: replayed to every later request with that key. */
export interface StoredAnswer {
  readonly fingerprint: string;
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

/**
 * Thrown by a domain operation whose transaction found its key already answered (the
 * completed record stood in the way): the chain replays that answer, or refuses with
 * 422 idempotency_key_reused when its fingerprint differs. Nothing was written.
 */
export class AlreadyAnswered extends Error {
  override name = "AlreadyAnswered";
  constructor(readonly answer: StoredAnswer) {
    super("idempotency key already answered");
  }
}

const recorded = new WeakSet<IdempotencyClaim>();

/**
 * Stores call this when a claim's completed record is committed with the movement, so
 * the chain knows the success it answers is already stored (else it stores it itself).
 */
export function markRecorded(claim: IdempotencyClaim): void {
  recorded.add(claim);
}

export function isRecorded(claim: IdempotencyClaim): boolean {
  return recorded.has(claim);
}

/** The body text stored (and answered) for a success: one serialisation, byte for byte. */
export const answerBody = (view: unknown): string => JSON.stringify(view);
