import http from "node:http";
import type { AddressInfo } from "node:net";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export type Alg = "RS256" | "PS256" | "ES256";

interface Key {
  kid: string;
  alg: Alg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * An OpenID Connect issuer as far as a resource server sees one: a discovery document and a JWKS on
 * loopback, keys made by jose, and tokens signed with them. It can rotate keys, go down (answer
 * 503) and count how often its keys were read.
 */
export interface TestIssuer {
  issuer: string;
  /** Signs a token with the current key (or `kid`'s) with these claims; iss, iat and exp (+10 min) unless given. */
  sign(claims: JWTPayload, opts?: { kid?: string; alg?: Alg; header?: Record<string, unknown> }): Promise<string>;
  /** Adds a key and publishes it; it becomes the one `sign` uses. Returns its kid. */
  rotate(alg?: Alg): Promise<string>;
  /** Makes a key (not published): a token signed with it has an unknown kid. */
  unpublishedKey(alg?: Alg): Promise<Key>;
  signWith(key: Key, claims: JWTPayload): Promise<string>;
  /** 503 to every request while down. */
  setDown(down: boolean): void;
  jwksReads(): number;
  publicJwk(kid?: string): JWK;
  close(): Promise<void>;
}

async function makeKey(alg: Alg, n: number): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `key-${n}-${alg}`;
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

export async function startTestIssuer(path = "/tenant-a/v2.0"): Promise<TestIssuer> {
  const keys: Key[] = [];
  let made = 0;
  let down = false;
  let reads = 0;
  let issuer = "";
  const server = http.createServer((req, res) => {
    if (down) {
      res.writeHead(503).end("down");
      return;
    }
    if (req.url === `${path}/.well-known/openid-configuration`) {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({ issuer, jwks_uri: `${issuer}/keys`, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token` }),
      );
    } else if (req.url === `${path}/keys`) {
      reads++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  const current = () => keys[keys.length - 1];
  const signWith = (key: Key, claims: JWTPayload, header: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: issuer, iat: now, exp: now + 600, ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...header })
      .sign(key.privateKey);
  };
  const t: TestIssuer = {
    issuer,
    sign: async (claims, opts = {}) => {
      let key = opts.kid ? keys.find((k) => k.kid === opts.kid) : current();
      if (opts.alg && key?.alg !== opts.alg) key = keys.find((k) => k.alg === opts.alg);
      if (!key) throw new Error("no such key");
      return signWith(key, claims, opts.header);
    },
    rotate: async (alg = "RS256") => {
      const key = await makeKey(alg, ++made);
      keys.push(key);
      return key.kid;
    },
    unpublishedKey: (alg = "RS256") => makeKey(alg, 1000 + ++made),
    signWith: (key, claims) => signWith(key, claims),
    setDown: (d) => (down = d),
    jwksReads: () => reads,
    publicJwk: (kid) => ((kid ? keys.find((k) => k.kid === kid) : current()) as Key).publicJwk,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  await t.rotate("RS256");
  return t;
}
