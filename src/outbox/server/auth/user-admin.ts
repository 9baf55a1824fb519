import * as v from 'valibot';
import type { Clock } from '../../ids';
import { MAX_PASSWORD_LENGTH, UsernameSchema } from '../../protocol/auth';
import type { AuthCrypto } from './auth-crypto';
import type { AuthStore, UserSummary } from './auth-store';

/**
 * Managing users (what `npm run user` does), as rules over the ports; the CLI only reads arguments and
 * stdin and prints. Every refusal is a value with a message meant for the operator.
 */

export interface AdminFailure {
  readonly ok: false;
  readonly problem: 'bad_username' | 'bad_password' | 'user_exists' | 'unknown_user';
  readonly message: string;
}
/** Done (with what `T` adds), or refused with a problem code and a message for the operator; never thrown. */
export type AdminResult<T extends object = object> = ({ readonly ok: true } & T) | AdminFailure;

/**
 * The password, asked for only once the name has been checked, so nobody types a password for a name
 * that is refused anyway.
 */
export type PasswordSource = () => Promise<string>;

/** What an operator does to users; a store failure rejects, every other refusal is an `AdminResult`. */
export interface UserAdmin {
  /** Checks the name (lowercase a-z 0-9 . _ -) before asking for the password; `user_exists` if taken. */
  addUser(username: string, password: PasswordSource): Promise<AdminResult>;
  /** Replaces the password, ending the user's sessions (not device tokens); asks only for a known user. */
  setPassword(username: string, password: PasswordSource): Promise<AdminResult>;
  /** Removes the user with their sessions and device tokens; `unknown_user` if there is none. */
  removeUser(username: string): Promise<AdminResult>;
  /** Every user by name, with their live sessions and device tokens counted now. */
  listUsers(): Promise<readonly UserSummary[]>;
  /** A new device token for the user: shown once, stored only as its digest. */
  issueDeviceToken(username: string): Promise<AdminResult<{ readonly token: string }>>;
}

/** The rules of `npm run user` over the ports; takes the same store the server signs people in with. */
export function createUserAdmin(deps: {
  readonly store: AuthStore;
  readonly crypto: AuthCrypto;
  readonly clock: Clock;
}): UserAdmin {
  const { store, crypto, clock } = deps;

  const checkUsername = (username: string): AdminFailure | null => {
    const parsed = v.safeParse(UsernameSchema, username);
    return parsed.success
      ? null
      : { ok: false, problem: 'bad_username', message: `"${username}": ${parsed.issues[0]?.message}` };
  };
  const checkPassword = (password: string): AdminFailure | null => {
    if (password.length === 0)
      return { ok: false, problem: 'bad_password', message: 'The password is empty' };
    if (password.length > MAX_PASSWORD_LENGTH) {
      return {
        ok: false,
        problem: 'bad_password',
        message: `The password is over ${MAX_PASSWORD_LENGTH} characters`,
      };
    }
    return null;
  };
  const unknown = (username: string): AdminFailure => ({
    ok: false,
    problem: 'unknown_user',
    message: `No user named "${username}"`,
  });

  return {
    async addUser(username, readPassword) {
      const exists = (): AdminFailure => ({
        ok: false,
        problem: 'user_exists',
        message: `A user named "${username}" already exists`,
      });
      const badName = checkUsername(username);
      if (badName) return badName;
      if (await store.findUser(username)) return exists();
      const password = await readPassword();
      const badPassword = checkPassword(password);
      if (badPassword) return badPassword;
      const passwordHash = await crypto.hashPassword(password);
      // Checked again by the store itself: someone may have added the name while the password was typed.
      return (await store.addUser({ username, passwordHash, createdAt: clock.now() }))
        ? { ok: true }
        : exists();
    },
    async setPassword(username, readPassword) {
      if (!(await store.findUser(username))) return unknown(username);
      const password = await readPassword();
      const badPassword = checkPassword(password);
      if (badPassword) return badPassword;
      const replaced = await store.replacePassword(username, await crypto.hashPassword(password));
      return replaced ? { ok: true } : unknown(username);
    },
    async removeUser(username) {
      return (await store.removeUser(username)) ? { ok: true } : unknown(username);
    },
    listUsers: () => store.listUsers(clock.now()),
    async issueDeviceToken(username) {
      const token = crypto.newToken();
      const added = await store.addDeviceToken({
        tokenDigest: crypto.digest(token),
        username,
        createdAt: clock.now(),
      });
      return added ? { ok: true, token } : unknown(username);
    },
  };
}
