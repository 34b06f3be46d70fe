/** SDK-HMAC-SHA256 request signing (DESIGN §1). Stub: the foundation issue implements it. */
export interface SignableRequest {
  method: string;
  /** Full URL, query included. */
  url: string | URL;
  /** Headers to send; must include `host` and `x-project-id`. */
  headers: Record<string, string>;
  body: string | Uint8Array;
}

export interface SigningCredentials {
  accessKey: string;
  secretKey: string;
  securityToken?: string;
}

/** Returns the headers to add: `X-Sdk-Date`, `Authorization` and, with a token, `X-Security-Token`. */
export function signRequest(
  _request: SignableRequest,
  _credentials: SigningCredentials,
  _now: Date,
): Record<string, string> {
  throw new Error("not implemented");
}
