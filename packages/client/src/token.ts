/** Authentication: a token, or a function that returns a fresh one for each request and (re)connection. */

/** A bearer token, or a function returning one (called before every request and every (re)connection). */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

/** The `Authorization` header for `token` (none when there is no token). */
export async function authorizationOf(token: TokenSource | undefined): Promise<Record<string, string>> {
  const value = typeof token === 'function' ? await token() : token;
  return value === undefined || value === '' ? {} : { authorization: `Bearer ${value}` };
}
