/** A non-2xx answer (or a failure to get one) from Dataverse or the Microsoft identity platform. */
export class DataverseError extends Error {
  override name = "DataverseError";
  constructor(
    /** HTTP status; 0 when no response arrived (network error, timeout) or the request was refused locally. */
    readonly status: number,
    /** Dataverse `0x…` code, OAuth `error` (e.g. `invalid_client`), or a local code (`network_error`, `timeout`, `path_refused`, `invalid_response`). */
    readonly code: string,
    message: string,
    /** From Retry-After (429 / 503), in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export function isDataverseError(e: unknown): e is DataverseError {
  return e instanceof DataverseError;
}

/** Dataverse error codes the engine reacts to. */
export const DV_ERRORS = {
  /** "Version stamp associated with the client has expired. Please perform a full sync." */
  deltaTokenExpired: "0x80044352",
  requestsLimit: "0x80072322",
  executionTimeLimit: "0x80072321",
  concurrencyLimit: "0x80072326",
  /** Attribute in $select/$filter doesn't exist. */
  attributeNotFound: "0x80041103",
  /** Principal lacks a privilege (403). */
  privilegeMissing: "0x80040220",
} as const;
