/**
 * Store addresses: `file:DIR`, `postgres://…`, `redis://…`. Our own query parameters (`schema`
 * for Postgres, `prefix` for Redis) are taken off before the driver sees the address, and the
 * address a user sees never shows its password.
 */
import { EXIT, OrchestratorError } from '../exit-codes.js';

export function redactUrl(address: string): string {
  try {
    const url = new URL(address);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return address.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

/** Splits `param` off an address: the driver's address and the value (or the fallback). */
export function takeParam(address: string, param: string, fallback: string, pattern: RegExp): { address: string; value: string } {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new OrchestratorError(`store ${redactUrl(address)}: not a valid URL`, EXIT.usage);
  }
  const value = url.searchParams.get(param) ?? fallback;
  if (!pattern.test(value)) throw new OrchestratorError(`store ${redactUrl(address)}: ${param}=${value} is not allowed (expected ${pattern.source})`, EXIT.usage);
  url.searchParams.delete(param);
  return { address: url.toString(), value };
}
