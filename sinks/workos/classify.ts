// What a failed SDK call means for the writer, from the exception SDK v8.13 throws (workos-api.md §7): worth
// retrying (timeouts, 5xx, network), permanent (other 4xx, with WorkOS's code), or a special answer the
// writer acts on (rate limited, duplicate user, conflict, not found, bad API key).
import {
  BadRequestException,
  GenericServerException,
  NotFoundException,
  OauthException,
  RateLimitExceededException,
  UnauthorizedException,
  UnprocessableEntityException,
} from '@workos-inc/node';
import { API_KEY, hideHashes } from '../../pipelines/log.ts';
import type { UserDraft } from '../../pipelines/record.ts';
import type { CallErrorClass, RowError } from '../../state/ledger.ts';

export type Failure = RowError<CallErrorClass> & {
  status: number | null;
  /** The answer is not one the WorkOS API gives (a page that is not JSON, a 2xx without the expected body): another server may be at the base URL. */
  foreign?: boolean;
};

/** A call that failed for good (after its retries); the row records `failure`. */
export class CallFailed extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
    this.name = 'CallFailed';
  }
}

/** WorkOS has no such user or organization: a 404 of the API, not a web server's page for a path it lacks. */
export function isNotFound(error: unknown): boolean {
  return error instanceof CallFailed && error.failure.status === 404 && error.failure.foreign !== true;
}

const DUPLICATE_USER_CODES = new Set(['email_not_available', 'external_id_already_used']);

function statusOf(error: unknown): number | null {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : null;
}

function subCodes(errors: unknown[] | undefined): string[] {
  return (errors ?? []).map((entry) => (entry as { code?: unknown } | null)?.code).filter((code): code is string => typeof code === 'string');
}

export function isRateLimited(error: unknown): error is RateLimitExceededException {
  return error instanceof RateLimitExceededException;
}

/** The server's Retry-After in ms, or null when it gave none (missing, or unreadable). */
export function retryAfterMs(error: RateLimitExceededException): number | null {
  return error.retryAfter === null || !Number.isFinite(error.retryAfter) ? null : Math.max(0, error.retryAfter * 1000);
}

/**
 * The user already exists: 400 user_creation_error with an email_not_available or external_id_already_used
 * sub-code, or a 409 from older servers (with a JSON body or not). A bare user_creation_error is a different problem.
 * WorkOS-compatible servers say it in other shapes too: the code at the top of a 400, a 422 (whose sub-codes the
 * SDK keeps only in the message), or OAuth's `{ error, error_description }` (which the SDK throws as an OauthException).
 */
export function isDuplicateUser(error: unknown): boolean {
  if (statusOf(error) === 409 || unparsedStatus(error) === 409) return true;
  if (error instanceof BadRequestException) {
    return DUPLICATE_USER_CODES.has(error.code ?? '') || (error.code === 'user_creation_error' && subCodes(error.errors).some((code) => DUPLICATE_USER_CODES.has(code)));
  }
  if (error instanceof UnprocessableEntityException) return [...DUPLICATE_USER_CODES].some((code) => error.code === code || error.message.includes(code));
  if (error instanceof GenericServerException && error.status === 400) return DUPLICATE_USER_CODES.has(String((error.rawData as { code?: unknown } | null)?.code));
  if (error instanceof OauthException) return DUPLICATE_USER_CODES.has(error.error ?? '');
  return false;
}

/** A wrong API key fails every call alike, so the run stops instead of failing each row. */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof UnauthorizedException;
}

/**
 * A key without the permission (or an IP allow-list that leaves this machine out) is refused on every call too: a
 * run going on would spend its whole budget failing every row as permanent.
 */
export function isForbidden(error: unknown): boolean {
  return statusOf(error) === 403;
}

const retryableStatus = (status: number) => status === 408 || status >= 500;
const OUTAGE_PAGES = new Set([500, 502, 503, 504]);

function byStatus(status: number, code: string, message: string): Failure {
  return { errorClass: retryableStatus(status) ? 'retryable' : 'permanent', code, message, status };
}

/**
 * The HTTP status of an answer whose body was not JSON: the SDK throws a ParseError carrying it, bare for a 2xx and
 * wrapped as the cause of an "Unexpected error" otherwise.
 */
function unparsedStatus(error: unknown): number | null {
  const parseError = error instanceof Error && error.name !== 'ParseError' ? error.cause : error;
  const { name, rawStatus } = (parseError ?? {}) as { name?: unknown; rawStatus?: unknown };
  return name === 'ParseError' && typeof rawStatus === 'number' ? rawStatus : null;
}

function unparsed(status: number): Failure {
  // A duplicate or an existing membership, said in a plain-text or HTML body: a conflict all the same.
  if (status === 409) return { errorClass: 'permanent', code: 'conflict', message: 'WorkOS answered 409 (conflict) with a body that is not JSON', status };
  // A 2xx the SDK could not read (cut short, not JSON) may have taken effect: retried after a lookup, like a timeout.
  if (status >= 200 && status < 300) {
    return { errorClass: 'retryable', code: 'invalid_response', message: `WorkOS answered ${status} with a body that is not JSON (the call may have taken effect)`, status: null, foreign: true };
  }
  // A gateway's error page in front of the real API (500, 502, 503, 504) is an ordinary outage; any other page (a
  // web server's 404, or its 501 for a POST it does not handle) is not WorkOS's answer.
  const failure = byStatus(status, `http_${status}`, `WorkOS answered ${status} with a body that is not JSON`);
  // Retryable either way: it says nothing of the row, and the right server may answer it later.
  return OUTAGE_PAGES.has(status) ? failure : { ...failure, errorClass: 'retryable', foreign: true };
}

/** The SDK wraps what is not an HTTP error answer (network failure, non-JSON body) as "Unexpected error". */
function unexpected(error: Error): Failure {
  const status = unparsedStatus(error);
  return status === null ? { errorClass: 'retryable', code: 'network_error', message: innermostMessage(error), status: null } : unparsed(status);
}

/**
 * Whether a failed call may still have taken effect: no answer came in time, the connection broke after the request
 * went out, or a 2xx could not be read. A connection never made (refused, a name not found) sent nothing.
 */
export function mayHaveLanded(failure: Failure): boolean {
  if (failure.code === 'timeout' || failure.code === 'invalid_response') return true;
  return failure.code === 'network_error' && !/^connect |ENOTFOUND|EAI_AGAIN/.test(failure.message);
}

/** A network failure's innermost cause says what happened (`connect ECONNREFUSED 127.0.0.1:1`), not `fetch failed`. */
function innermostMessage(error: Error): string {
  let innermost = error;
  while (innermost.cause instanceof Error) innermost = innermost.cause;
  return innermost.message;
}

const BEARER = /Bearer\s+\S+/gi;

/**
 * The server's words without what a server may echo back from the request (a password hash, the Authorization
 * header, the key): messages are stored in the ledger and shown in reports, where no secret may appear.
 */
function withoutSecrets(failure: Failure): Failure {
  const message = hideHashes(failure.message, '[password hash]').replace(BEARER, 'Bearer [redacted]').replace(API_KEY, '[API key]');
  return message === failure.message ? failure : { ...failure, message };
}

/**
 * The failure without the row's own password hash or TOTP secret, which a server may echo back: the patterns of
 * hideHashes cannot know every hash (a short bare digest), nor any TOTP secret.
 */
export function withoutUserSecrets(failure: Failure, { passwordHash, totpSecret }: Pick<UserDraft, 'passwordHash' | 'totpSecret'>): Failure {
  let { message } = failure;
  if (passwordHash) message = message.replaceAll(passwordHash, '[password hash]');
  if (totpSecret) message = message.replaceAll(totpSecret, '[TOTP secret]');
  return message === failure.message ? failure : { ...failure, message };
}

/** Classifies an SDK failure; anything else is our bug and is thrown back. */
export function classify(error: unknown): Failure {
  return withoutSecrets(classifyAnswer(error));
}

function classifyAnswer(error: unknown): Failure {
  if (error instanceof BadRequestException) {
    const codes = subCodes(error.errors);
    const message = codes.length === 0 ? error.message : `${error.message} (${codes.join(', ')})`;
    return { errorClass: 'permanent', code: error.code ?? 'bad_request', message, status: 400 };
  }
  if (error instanceof UnprocessableEntityException) return { errorClass: 'permanent', code: error.code ?? 'unprocessable_entity', message: error.message, status: 422 };
  if (error instanceof NotFoundException) return { errorClass: 'permanent', code: error.code ?? 'not_found', message: error.message, status: 404 };
  if (error instanceof UnauthorizedException) return { errorClass: 'permanent', code: 'unauthorized', message: 'WorkOS rejected the API key (401 Unauthorized)', status: 401 };
  if (error instanceof OauthException) {
    if (error.status === 408) return { errorClass: 'retryable', code: 'timeout', message: 'no answer from WorkOS in time (the call may have taken effect)', status: 408 };
    return byStatus(error.status, error.error ?? `http_${error.status}`, error.message);
  }
  if (error instanceof GenericServerException) {
    const code = (error.rawData as { code?: unknown } | null)?.code;
    return byStatus(error.status, typeof code === 'string' ? code : `http_${error.status}`, error.message);
  }
  if (error instanceof Error && error.name === 'ConflictException') return { errorClass: 'permanent', code: 'conflict', message: error.message, status: 409 };
  if (error instanceof Error && error.message.startsWith('Unexpected error') && error.cause !== undefined) return unexpected(error);
  const status = unparsedStatus(error);
  if (status !== null) return unparsed(status);
  // A 2xx answer without JSON makes the SDK's deserializer read a property of null.
  if (error instanceof TypeError) {
    return { errorClass: 'retryable', code: 'invalid_response', message: `WorkOS answered without the expected JSON body (${error.message})`, status: null, foreign: true };
  }
  throw error;
}
