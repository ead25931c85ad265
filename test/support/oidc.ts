// A test OpenID Connect issuer on 127.0.0.1: its discovery document, its one RS256 key, and
// tokens signed with it (as an identity provider would give, or an authenticating proxy add).
import { createSign, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

export interface TestIssuer {
  issuer: string;
  /** A token for these claims (iss and exp filled in unless given). */
  token(claims: Record<string, unknown>): string;
  close(): Promise<void>;
}

export async function startTestIssuer(kid = 'k1'): Promise<TestIssuer> {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let issuer = '';
  const server = createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/jwks` }
        : { keys: [{ ...key.publicKey.export({ format: 'jwk' }), kid, use: 'sig' }] };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return {
    issuer,
    token(claims) {
      const h = part({ alg: 'RS256', kid });
      const b = part({ iss: issuer, exp: Math.floor(Date.now() / 1000) + 900, ...claims });
      const signature = createSign('RSA-SHA256')
        .update(`${h}.${b}`)
        .sign(key.privateKey)
        .toString('base64url');
      return `${h}.${b}.${signature}`;
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
