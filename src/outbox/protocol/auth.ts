import * as v from 'valibot';

/**
 * Sign-in on the reference server (docs/protocol.md, "Users and sessions"): wire schemas shared by the
 * server and the app. Sync itself is unchanged; these routes only decide who is asking.
 */

/**
 * Usernames as the server stores them. Lowercase so that "Alice" typed on a phone that capitalises the
 * first letter signs in as `alice`; no spaces or symbols, so a name is safe in logs, shells and URLs.
 */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MAX_PASSWORD_LENGTH = 1024;

export const UsernameSchema = v.pipe(
  v.string('username must be a string'),
  v.regex(USERNAME_PATTERN, 'username is 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit'),
);

/**
 * `POST /api/auth/login`. The username is not held to `UsernameSchema` here: a name that cannot exist must
 * get the same `401`, in the same time, as a wrong password, so it goes through the same path.
 */
export const LoginRequestSchema = v.object({
  username: v.pipe(
    v.string('username must be a string'),
    v.minLength(1, 'username is required'),
    v.maxLength(200),
  ),
  password: v.pipe(
    v.string('password must be a string'),
    v.minLength(1, 'password is required'),
    v.maxLength(MAX_PASSWORD_LENGTH, `password is at most ${MAX_PASSWORD_LENGTH} characters`),
  ),
});
export type LoginRequest = v.InferOutput<typeof LoginRequestSchema>;

/** `GET /api/auth/me` when signed in. */
export const MeResponseSchema = v.object({ username: UsernameSchema });
export type MeResponse = v.InferOutput<typeof MeResponseSchema>;

/** The session cookie's name. HttpOnly: the app never reads it, it only learns who is signed in from `me`. */
export const SESSION_COOKIE = 'outpost_session';
