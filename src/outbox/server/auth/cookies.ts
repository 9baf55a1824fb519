/** The one cookie this server sets, read and written by hand: two small functions beat a dependency. */

/** The value of cookie `name` in the request's `Cookie` header, if it is there and well-formed. */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie');
  if (header === null) return undefined;
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator < 0 || pair.slice(0, separator).trim() !== name) continue;
    const value = pair.slice(separator + 1).trim();
    // Our ids are base64url; anything else was not set by us and names no session.
    return /^[A-Za-z0-9_-]{1,256}$/.test(value) ? value : undefined;
  }
  return undefined;
}

export interface CookieAttributes {
  readonly path: string;
  readonly maxAgeSeconds: number;
  readonly secure: boolean;
}

/** A `Set-Cookie` value that scripts cannot read (HttpOnly) and other sites never trigger (SameSite=Strict). */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  const parts = [
    `${name}=${value}`,
    `Path=${attributes.path}`,
    `Max-Age=${Math.max(0, Math.floor(attributes.maxAgeSeconds))}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (attributes.secure) parts.push('Secure');
  return parts.join('; ');
}
