import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer-token check for /api/v1 (until the security issue brings users and roles):
 * constant-time comparison of SHA-256 digests, 401 with `WWW-Authenticate: Bearer`.
 */
export function bearerAuth(token: string, onReject: (reason: string) => void) {
  const expected = digest(token);
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    const reason = !header ? 'missing' : !m ? 'malformed' : timingSafeEqual(digest(m[1]!), expected) ? undefined : 'invalid';
    if (!reason) return next();
    onReject(reason);
    res
      .status(401)
      .set('WWW-Authenticate', `Bearer realm="dmp", error="invalid_token"`)
      .json({ statusCode: 401, error: 'Unauthorized', message: `bearer token ${reason}` });
  };
}
