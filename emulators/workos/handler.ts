import type { EmulatorStore, ListPage } from './store.ts';
import type { JsonObject } from './validation.ts';

// What a route handler sees and returns. Handlers are synchronous: the store is in memory, so a request
// never waits on anything once its body has arrived. They throw ApiError for every error answer.

export interface HandlerContext {
  readonly store: EmulatorStore;
  /** When false, a membership may carry one role only (422 multiple_roles_not_enabled). */
  readonly multipleRoles: boolean;
  /** Answer duplicate users with 409 user_already_exists (older servers) instead of 400. */
  readonly legacyConflicts: boolean;
}

export interface ApiRequest {
  /** Percent-decoded path parameters, in route order. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly body: JsonObject;
  readonly idempotencyKey: string | null;
}

export interface ApiResult {
  status: number;
  /** Omitted for 204. */
  body?: unknown;
}

export type Handler = (context: HandlerContext, request: ApiRequest) => ApiResult;

export interface ListBody<R> {
  object: 'list';
  data: R[];
  list_metadata: { before: string | null; after: string | null };
}

export function listBody<T, R>(page: ListPage<T>, render: (row: T) => R): ListBody<R> {
  return { object: 'list', data: page.data.map(render), list_metadata: { before: page.before, after: page.after } };
}

export function timestamp(): string {
  return new Date().toISOString();
}

/** Ids from one factory sort in creation order, so sorting by id restores it for filtered lists. */
export function byCreation(a: { id: string }, b: { id: string }): number {
  const left = a.id.slice(a.id.lastIndexOf('_') + 1);
  const right = b.id.slice(b.id.lastIndexOf('_') + 1);
  return left < right ? -1 : left > right ? 1 : 0;
}
