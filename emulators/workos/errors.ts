// Error answers in the shapes WorkOS sends (workos-api.md §6). The SDK picks its exception class from
// the body, so the shapes matter: `code` plus `errors` makes a BadRequestException, a bare `code` a
// GenericServerException, and an `error` key would make an OauthException, which is why no body here
// ever carries one.

export interface FieldError {
  code: string;
  message?: string;
  field?: string;
}

export interface ErrorBody {
  message: string;
  code: string;
  errors?: FieldError[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
    this.name = 'ApiError';
  }
}

export function notFound(entity: string, id: string): ApiError {
  return new ApiError(404, { message: `${entity} not found: '${id}'.`, code: 'entity_not_found' });
}

/** 422 for a request whose fields are missing or malformed; `errors` names each field. */
export function invalidParameters(field: string, code: string, message: string): ApiError {
  return new ApiError(422, { message: 'Validation failed.', code: 'invalid_request_parameters', errors: [{ field, code, message }] });
}

export function badRequest(code: string, message: string): ApiError {
  return new ApiError(400, { message, code });
}

export function userCreationError(subcode: 'email_not_available' | 'external_id_already_used'): ApiError {
  const message = subcode === 'email_not_available' ? 'This email is not available.' : 'This external ID is already in use.';
  return new ApiError(400, { message: 'Could not create user.', code: 'user_creation_error', errors: [{ code: subcode, message }] });
}

/** The answer of older servers and emulators to a duplicate user; the writer must still recognise it. */
export function legacyUserConflict(): ApiError {
  return new ApiError(409, { message: 'A user with this email or external ID already exists.', code: 'user_already_exists' });
}

export const RATE_LIMITED: ErrorBody = { message: 'Too many requests.', code: 'rate_limit_exceeded' };
