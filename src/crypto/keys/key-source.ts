/**
 * Where a signing key comes from, as `signing-keys.json` describes it (paths already absolute;
 * `password`/`pin` are references such as `env:NAME` or `file:PATH`, resolved when loading).
 */
export type KeySource =
  | { type: 'pem'; key: string; certificate: string; chain?: string }
  | { type: 'pkcs12'; file: string; password: string; certificate?: string; chain?: string }
  | { type: 'pkcs11'; module: string; token: string; pin: string; label: string; certificate?: string; chain?: string }
  /** A remote key behind the CSC API v2; `clientSecret`/`pin` are secret references too. */
  | { type: 'csc'; baseUrl: string; clientId: string; clientSecret: string; credentialId: string; pin?: string };
