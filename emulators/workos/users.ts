import { ApiError, badRequest, invalidParameters, legacyUserConflict, notFound, userCreationError } from './errors.ts';
import { byCreation, listBody, timestamp, type Handler, type HandlerContext } from './handler.ts';
import { isPasswordHashType, isWellFormedPasswordHash } from './password-hash.ts';
import { paginate, type User, type UserChanges } from './store.ts';
import { emailOf, externalIdOf, listQueryOf, localeOf, metadataOf, nullableString, optionalBoolean, optionalEmail, optionalString, type JsonObject } from './validation.ts';

// /user_management/users: create, get, get by external id, list, update, delete (workos-api.md §3).

export function userOr404(context: HandlerContext, id: string): User {
  const user = context.store.users.get(id);
  if (!user) throw notFound('User', id);
  return user;
}

/** `password` excludes `password_hash`/`password_hash_type`; the hash must be well formed for its type. */
function checkPasswordFields(body: JsonObject): void {
  const password = optionalString(body, 'password');
  const hash = optionalString(body, 'password_hash');
  const hashType = optionalString(body, 'password_hash_type');
  if (password !== undefined && hash !== undefined) {
    throw badRequest('password_and_password_hash_provided', 'Provide either password or password_hash, not both.');
  }
  if (password !== undefined && hashType !== undefined) {
    throw badRequest('password_and_password_hash_type_provided', 'password_hash_type goes with password_hash, not with password.');
  }
  if (hash === undefined && hashType === undefined) return;
  if (hash === undefined) throw invalidParameters('password_hash', 'password_hash_required', 'password_hash_type requires password_hash.');
  if (hashType === undefined) throw invalidParameters('password_hash_type', 'password_hash_type_required', 'password_hash requires password_hash_type.');
  if (!isPasswordHashType(hashType)) throw badRequest('invalid_password_hash', 'Unsupported password_hash_type.');
  if (!isWellFormedPasswordHash(hashType, hash)) throw badRequest('invalid_password_hash', `password_hash is not a well-formed ${hashType} hash.`);
}

function duplicate(context: HandlerContext, subcode: 'email_not_available' | 'external_id_already_used'): ApiError {
  return context.legacyConflicts ? legacyUserConflict() : userCreationError(subcode);
}

export const createUser: Handler = (context, { body }) => {
  const email = emailOf(body);
  checkPasswordFields(body);
  const firstName = nullableString(body, 'first_name');
  const lastName = nullableString(body, 'last_name');
  const emailVerified = optionalBoolean(body, 'email_verified');
  const externalId = externalIdOf(body);
  const metadata = metadataOf(body, {});
  const { store } = context;
  if (store.userByEmail(email)) throw duplicate(context, 'email_not_available');
  if (externalId && store.userByExternalId(externalId)) throw duplicate(context, 'external_id_already_used');
  const now = timestamp();
  const user: User = {
    object: 'user',
    id: store.newId('user'),
    email,
    email_verified: emailVerified ?? false,
    first_name: firstName ?? null,
    last_name: lastName ?? null,
    profile_picture_url: null,
    last_sign_in_at: null,
    locale: null,
    external_id: externalId ?? null,
    metadata,
    created_at: now,
    updated_at: now,
  };
  store.insertUser(user);
  return { status: 201, body: user };
};

export const getUser: Handler = (context, { params: [id = ''] }) => ({ status: 200, body: userOr404(context, id) });

export const getUserByExternalId: Handler = (context, { params: [externalId = ''] }) => {
  const user = context.store.userByExternalId(externalId);
  if (!user) throw notFound('User with external_id', externalId);
  return { status: 200, body: user };
};

/** Filters `email` (any case) and `organization_id` go through indexes, never a scan of all users. */
export const listUsers: Handler = ({ store }, { query }) => {
  const page = listQueryOf(query);
  const email = query.get('email');
  const organizationId = query.get('organization_id');
  if (!email && !organizationId) return { status: 200, body: listBody(store.users.page(page), (user) => user) };
  let candidates: User[];
  if (organizationId) {
    candidates = [];
    for (const membership of store.membershipsOfOrganization(organizationId)) {
      const user = store.users.get(membership.user_id);
      if (user && (!email || user.email.toLowerCase() === email.toLowerCase())) candidates.push(user);
    }
    candidates.sort(byCreation);
  } else {
    const user = store.userByEmail(email as string);
    candidates = user ? [user] : [];
  }
  return { status: 200, body: listBody(paginate(candidates, page), (user) => user) };
};

export const updateUser: Handler = ({ store }, { params: [id = ''], body }) => {
  const user = store.users.get(id);
  if (!user) throw notFound('User', id);
  checkPasswordFields(body);
  const changes: UserChanges = {};
  const email = optionalEmail(body);
  if (email !== undefined && email !== user.email) {
    const holder = store.userByEmail(email);
    if (holder && holder !== user) throw badRequest('email_not_available', 'This email is not available.');
    changes.email = email;
  }
  const emailVerified = optionalBoolean(body, 'email_verified');
  if (emailVerified !== undefined) changes.email_verified = emailVerified;
  const firstName = nullableString(body, 'first_name');
  if (firstName !== undefined) changes.first_name = firstName;
  const lastName = nullableString(body, 'last_name');
  if (lastName !== undefined) changes.last_name = lastName;
  const locale = localeOf(body);
  if (locale !== undefined) changes.locale = locale;
  const externalId = externalIdOf(body);
  if (externalId !== undefined && externalId !== user.external_id) {
    if (externalId !== null && store.userByExternalId(externalId)) throw badRequest('external_id_already_used', 'This external ID is already in use.');
    changes.external_id = externalId;
  }
  changes.metadata = metadataOf(body, user.metadata);
  changes.updated_at = timestamp();
  store.updateUser(user, changes);
  return { status: 200, body: user };
};

export const deleteUser: Handler = ({ store }, { params: [id = ''] }) => {
  if (!store.deleteUser(id)) throw notFound('User', id);
  return { status: 204 };
};
