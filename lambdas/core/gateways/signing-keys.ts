// Interface of an OpenID Connect issuer's signing keys (its JWKS), as the wake page verifies
// tokens with them; implemented over HTTP in clients/oidc-keys.ts.
import type { KeyObject } from 'node:crypto';

export interface SigningKeys {
  /**
   * The issuer's RSA public key with this key id, or null when it publishes none. `refresh`:
   * fetch the set again first (an unknown kid may be a key the issuer rotated in).
   */
  key(kid: string, refresh: boolean): Promise<KeyObject | null>;
}
