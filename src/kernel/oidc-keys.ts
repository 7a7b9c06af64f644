import { createLocalJWKSet, type CryptoKey, errors, type JSONWebKeySet, type JWTHeaderParameters } from "jose";
import { FetchFailed, type FetchJson } from "./fetch-json";

/** What Baton needs from an issuer's discovery document (OpenID Connect Discovery 1.0). */
export interface IssuerMetadata {
  issuer: string;
  jwksUri: string;
  authorizationEndpoint: string | null;
  tokenEndpoint: string | null;
}

/** The issuer's documents could not be read and no usable keys are cached: try again later. */
export class ProviderUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProviderUnavailable";
  }
}

/** The issuer's documents were read but are not what OpenID Connect says (wrong issuer, no keys). */
export class ProviderMisconfigured extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProviderMisconfigured";
  }
}

/** The token names a key its issuer does not publish (even after reading the keys again). */
export class UnknownKey extends Error {}

export interface OidcKeyOptions {
  /** An unknown `kid` reads the keys again at most this often per issuer. */
  unknownKidRefreshMs: number;
  /** Keys are read again after this long (or the JWKS response's max-age, if shorter, but not under a minute). */
  maxAgeMs: number;
  /** After a failed first read, further tries wait this long (a provider that is down is not asked on every request). */
  failureBackoffMs: number;
  clock?: () => number;
  /** Told when a refresh fails and cached keys go on being used. */
  onStaleKeys?: (issuer: string, err: Error) => void;
}

export const DEFAULT_OIDC_KEY_OPTIONS: OidcKeyOptions = { unknownKidRefreshMs: 60_000, maxAgeMs: 3_600_000, failureBackoffMs: 5_000 };

interface Entry {
  metadata: IssuerMetadata;
  getKey: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
  freshUntil: number;
}

/**
 * Issuers' signing keys, read from their discovery document and JWKS and kept: read again when
 * they expire (a failure keeps the old keys in use: a provider that is down does not sign anyone
 * out whose keys are known) and when a token names a key not among them (at most once per
 * `unknownKidRefreshMs`, so forged `kid`s cannot make Baton hammer the provider). Concurrent
 * reads of one issuer share one fetch.
 */
export class OidcKeys {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Entry>>();
  private readonly failedAt = new Map<string, { at: number; err: Error }>();
  private readonly clock: () => number;

  constructor(
    private readonly fetch: FetchJson,
    private readonly opts: OidcKeyOptions = DEFAULT_OIDC_KEY_OPTIONS,
  ) {
    this.clock = opts.clock ?? Date.now;
  }

  /** Reads the issuer's discovery document now (not cached): checks an issuer an admin configures. */
  async discover(issuer: string): Promise<IssuerMetadata> {
    const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    let doc: unknown;
    try {
      doc = (await this.fetch(url)).body;
    } catch (err) {
      throw err instanceof FetchFailed && err.answered ? new ProviderMisconfigured(err.message) : new ProviderUnavailable((err as Error).message);
    }
    if (typeof doc !== "object" || doc === null) throw new ProviderMisconfigured(`${url} is not a discovery document`);
    const d = doc as Record<string, unknown>;
    // OpenID Connect Discovery 1.0, section 4.3: the issuer it names must be exactly the one asked.
    if (d.issuer !== issuer) throw new ProviderMisconfigured(`the discovery document names the issuer ${JSON.stringify(d.issuer)}, not ${issuer}`);
    if (typeof d.jwks_uri !== "string") throw new ProviderMisconfigured("the discovery document has no jwks_uri");
    const text = (v: unknown) => (typeof v === "string" ? v : null);
    return { issuer, jwksUri: d.jwks_uri, authorizationEndpoint: text(d.authorization_endpoint), tokenEndpoint: text(d.token_endpoint) };
  }

  /** The key that verifies a token with this header, from `issuer`'s published keys. */
  async keyFor(issuer: string, header: JWTHeaderParameters): Promise<CryptoKey> {
    let entry = this.entries.get(issuer);
    const now = this.clock();
    if (!entry) {
      entry = await this.load(issuer);
    } else if (now >= entry.freshUntil) {
      try {
        entry = await this.load(issuer);
      } catch (err) {
        // Kept: the provider being down must not sign out everyone whose keys are known.
        this.opts.onStaleKeys?.(issuer, err as Error);
      }
    }
    try {
      return await entry.getKey(header);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      if (this.clock() - entry.fetchedAt < this.opts.unknownKidRefreshMs) throw new UnknownKey("the token's key is not among its issuer's keys");
      // A rotation: the issuer may have published the key since the last read.
      const fresh = await this.load(issuer);
      try {
        return await fresh.getKey(header);
      } catch (again) {
        if (again instanceof errors.JWKSNoMatchingKey) throw new UnknownKey("the token's key is not among its issuer's keys");
        throw again;
      }
    }
  }

  /** Forgets an issuer's keys (its organization removed or changed it). */
  forget(issuer: string): void {
    this.entries.delete(issuer);
    this.failedAt.delete(issuer);
  }

  private load(issuer: string): Promise<Entry> {
    const running = this.inFlight.get(issuer);
    if (running) return running;
    const failed = this.failedAt.get(issuer);
    if (failed && this.clock() - failed.at < this.opts.failureBackoffMs) return Promise.reject(failed.err);
    const loading = this.read(issuer).then(
      (entry) => {
        this.entries.set(issuer, entry);
        this.failedAt.delete(issuer);
        return entry;
      },
      (err: Error) => {
        this.failedAt.set(issuer, { at: this.clock(), err });
        throw err;
      },
    );
    this.inFlight.set(issuer, loading);
    void loading.then(
      () => this.inFlight.delete(issuer),
      () => this.inFlight.delete(issuer),
    );
    return loading;
  }

  private async read(issuer: string): Promise<Entry> {
    const metadata = await this.discover(issuer);
    let jwks: { body: unknown; maxAgeSeconds: number | null };
    try {
      jwks = await this.fetch(metadata.jwksUri);
    } catch (err) {
      throw err instanceof FetchFailed && err.answered ? new ProviderMisconfigured(err.message) : new ProviderUnavailable((err as Error).message);
    }
    const body = jwks.body as Partial<JSONWebKeySet> | null;
    if (!body || !Array.isArray(body.keys)) throw new ProviderMisconfigured(`${metadata.jwksUri} is not a JWK set`);
    // Symmetric keys have no place in a public key set: an "oct" key would let HMAC tokens through.
    const keys = body.keys.filter((k) => k && typeof k === "object" && k.kty !== "oct");
    const fetchedAt = this.clock();
    const maxAge = jwks.maxAgeSeconds === null ? this.opts.maxAgeMs : Math.max(60_000, Math.min(this.opts.maxAgeMs, jwks.maxAgeSeconds * 1000));
    return { metadata, getKey: createLocalJWKSet({ keys }), fetchedAt, freshUntil: fetchedAt + maxAge };
  }
}
