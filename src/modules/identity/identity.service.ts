import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from "jose";
import type { DataSource } from "typeorm";
import { isUniqueViolation, poolSql } from "../../db/sql";
import { afterCommit } from "../../db/unit-of-work";
import { badInput, BatonError, ErrorCode } from "../../errors";
import { fetchJson } from "../../kernel/fetch-json";
import { DEFAULT_OIDC_KEY_OPTIONS, OidcKeys, type OidcKeyOptions, ProviderMisconfigured, ProviderUnavailable, UnknownKey } from "../../kernel/oidc-keys";
import { privateAddressesOf, type Resolve, systemResolve } from "../../kernel/public-address";
import { requireAccess } from "../../policy/access";
import { IdentityProviderRepository } from "../../repositories/identity-provider.repository";
import { requireEmail, requireId, requireText } from "../../validation";
import type { User } from "../users/user.entity";
import type { IdentityProvider } from "./identity-provider.entity";

/** The signature algorithms accepted from a provider: asymmetric only (an HMAC "signed" with a public key is a forgery). */
export const PROVIDER_ALGORITHMS = ["RS256", "PS256", "ES256"];
/** A token longer than this is refused before anything is decoded. */
export const MAX_TOKEN_CHARS = 16 * 1024;
/** A provider's token may expire at most this far ahead. */
export const MAX_PROVIDER_TOKEN_TTL_SECONDS = 24 * 3600;
/** Clock skew allowed on exp, nbf and iat. */
export const PROVIDER_CLOCK_SKEW_SECONDS = 60;
/** An issuer's row is reused this long (another instance's change is seen within it; this instance's at once). */
const PROVIDER_CACHE_MS = 30_000;
const MAX_URL_LENGTH = 2048;
const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

export interface IdentityOptions {
  /** http:// issuers and issuers on loopback or private addresses (OIDC_ALLOW_INSECURE_ISSUERS; tests only). */
  allowInsecureIssuers: boolean;
  /** Timeout of each read of a provider's documents. */
  fetchTimeoutMs?: number;
  keys?: Partial<OidcKeyOptions>;
  resolve?: Resolve;
  clock?: () => number;
  onStaleKeys?: (issuer: string, err: Error) => void;
}

export interface IdentityProviderInput {
  issuer: string;
  audience: string;
  userClaim?: string | null;
  createUsers?: boolean | null;
  consoleClientId?: string | null;
}

/** What the console needs to sign a person in with their organization's provider (Authorization Code with PKCE). */
export interface ConsoleSignIn {
  issuer: string;
  clientId: string;
  /** Which of the provider's tokens Baton accepts for this organization: the ID token (audience = the console) or the access token. */
  token: "id_token" | "access_token";
  /** The audience to ask the access token for (a `resource`/`audience` parameter some providers want). */
  audience: string;
}

/** Who a provider's token signs in, once it is verified. */
export interface ProviderSignIn {
  userId: string;
  expiresAt: Date;
}

const unauthenticated = (message: string) => new BatonError(ErrorCode.UNAUTHENTICATED, message);

/**
 * Sign-in with the organization's OpenID Connect provider (issue #23). Admins name the issuer,
 * the audience and the claim that names a user; Baton reads the issuer's keys (cached; see
 * kernel/oidc-keys.ts) and accepts its RS256, PS256 and ES256 tokens for that organization's
 * users only: the issuer picks the organization.
 */
export class IdentityService {
  private readonly repo: IdentityProviderRepository;
  private readonly keys: OidcKeys;
  private readonly resolve: Resolve;
  private readonly clock: () => number;
  private readonly providers = new Map<string, { provider: IdentityProvider | null; until: number }>();
  private origins: { list: string[]; until: number } | null = null;
  /** Told when a provider changes here, so verified tokens are forgotten at once (TokenService). */
  private readonly changeListeners = new Set<() => void>();

  constructor(
    dataSource: DataSource,
    private readonly opts: IdentityOptions,
  ) {
    this.repo = new IdentityProviderRepository(poolSql(dataSource));
    this.clock = opts.clock ?? Date.now;
    this.resolve = opts.resolve ?? systemResolve;
    const fetch = fetchJson({ timeoutMs: opts.fetchTimeoutMs ?? 5_000, maxBytes: 512 * 1024, allowPrivateNetworks: opts.allowInsecureIssuers });
    this.keys = new OidcKeys(fetch, { ...DEFAULT_OIDC_KEY_OPTIONS, ...opts.keys, clock: this.clock, onStaleKeys: opts.onStaleKeys });
  }

  onChange(listener: () => void): void {
    this.changeListeners.add(listener);
  }

  async get(viewer: User): Promise<IdentityProvider | null> {
    requireAccess(viewer, "identity.manage");
    return this.repo.ofOrganization(viewer.organizationId);
  }

  /** Sets (or replaces) the organization's provider, after reading its discovery document. */
  async set(viewer: User, input: IdentityProviderInput): Promise<IdentityProvider> {
    requireAccess(viewer, "identity.manage");
    const issuer = await this.requireIssuer(input.issuer);
    const audience = requireText(input.audience, "audience", 1, 500);
    const userClaim = input.userClaim == null ? "email" : input.userClaim.trim();
    if (!CLAIM_NAME.test(userClaim)) throw badInput("userClaim must be a claim's name, such as email, sub or oid", "userClaim");
    const consoleClientId = input.consoleClientId == null || input.consoleClientId.trim() === "" ? null : requireText(input.consoleClientId, "consoleClientId", 1, 500);
    try {
      await this.keys.discover(issuer);
    } catch (err) {
      if (err instanceof ProviderUnavailable || err instanceof ProviderMisconfigured) {
        throw badInput(`The issuer's discovery document could not be used: ${err.message}`, "issuer");
      }
      throw err;
    }
    const previous = await this.repo.ofOrganization(viewer.organizationId);
    let provider: IdentityProvider;
    try {
      provider = await this.repo.put(
        { organizationId: viewer.organizationId, issuer, audience, userClaim, createUsers: input.createUsers ?? false, consoleClientId },
        new Date(this.clock()),
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw badInput("Another organization signs in with this issuer", "issuer");
      throw err;
    }
    // Caches are dropped once the change is committed (inside an idempotent mutation, at its unit's commit).
    await afterCommit(() => this.changed(previous?.issuer ?? null, issuer), () => undefined);
    return provider;
  }

  /** Removes the organization's provider: its tokens stop working at once here, within 30 s elsewhere. */
  async remove(viewer: User): Promise<boolean> {
    requireAccess(viewer, "identity.manage");
    const issuer = await this.repo.remove(viewer.organizationId);
    if (issuer === null) return false;
    await afterCommit(() => this.changed(issuer, null), () => undefined);
    return true;
  }

  /**
   * Verifies a provider's token and finds (or, with `createUsers`, creates) the user it names in
   * the issuer's organization. UNAUTHENTICATED with the reason, or SERVICE_UNAVAILABLE when the
   * provider's keys are needed and cannot be read.
   */
  async signIn(token: string): Promise<ProviderSignIn> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw unauthenticated("The token is not valid");
    }
    if ("jwk" in header || "jku" in header || "x5u" in header || "x5c" in header) {
      throw unauthenticated("The token carries its own key (jwk, jku, x5u or x5c): refused");
    }
    if (typeof header.alg !== "string" || !PROVIDER_ALGORITHMS.includes(header.alg)) {
      throw unauthenticated(`The token's algorithm ${String(header.alg)} is not accepted (${PROVIDER_ALGORITHMS.join(", ")})`);
    }
    if (typeof unverified.iss !== "string") throw unauthenticated("The token names no issuer (iss)");
    const provider = await this.providerOf(unverified.iss);
    if (!provider) throw unauthenticated("The token's issuer is not an identity provider of any organization");
    const now = this.clock();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (h) => this.keys.keyFor(provider.issuer, h), {
        issuer: provider.issuer,
        audience: provider.audience,
        algorithms: PROVIDER_ALGORITHMS,
        clockTolerance: PROVIDER_CLOCK_SKEW_SECONDS,
        requiredClaims: ["exp"],
        currentDate: new Date(now),
      }));
    } catch (err) {
      throw refusal(err);
    }
    const exp = payload.exp as number;
    if (exp - now / 1000 > MAX_PROVIDER_TOKEN_TTL_SECONDS + PROVIDER_CLOCK_SKEW_SECONDS) {
      throw unauthenticated("The token expires more than 24 hours from now");
    }
    if (typeof payload.iat === "number" && payload.iat - now / 1000 > PROVIDER_CLOCK_SKEW_SECONDS) {
      throw unauthenticated("The token is issued in the future (iat)");
    }
    const userId = await this.userOf(provider, payload);
    return { userId, expiresAt: new Date(exp * 1000) };
  }

  /**
   * The console's single sign-on for a person, by their email (an active user of one
   * organization whose provider has a console client id) or by an organization's id (a link an
   * admin hands out: users the provider will create on first sign-in have no email here yet).
   * Null when there is none; what it reveals is that such a sign-in exists, as any SaaS's
   * "continue with SSO" page does.
   */
  async consoleSignIn(hint: { email?: string | null; organizationId?: string | null }): Promise<ConsoleSignIn | null> {
    let provider: IdentityProvider | null = null;
    if (hint.organizationId) {
      provider = await this.repo.consoleOfOrganization(requireId(hint.organizationId, "organization"));
    } else if (hint.email) {
      const found = await this.repo.consoleByEmail(requireEmail(hint.email));
      provider = found.length === 1 ? (found[0] ?? null) : null;
    } else {
      throw badInput("Give an email or an organization", "email");
    }
    if (!provider?.consoleClientId) return null;
    // The console sends the ID token when the provider's audience is the console itself, else the access token.
    return {
      issuer: provider.issuer,
      clientId: provider.consoleClientId,
      token: provider.audience === provider.consoleClientId ? "id_token" : "access_token",
      audience: provider.audience,
    };
  }

  /** The origins of the issuers the console signs in with (its Content-Security-Policy lets it talk to them); cached a minute. */
  async consoleOrigins(): Promise<string[]> {
    const now = this.clock();
    if (this.origins && this.origins.until > now) return this.origins.list;
    const list = [...new Set((await this.repo.consoleIssuers()).map((issuer) => new URL(issuer).origin))];
    this.origins = { list, until: now + 60_000 };
    return list;
  }

  private async userOf(provider: IdentityProvider, payload: JWTPayload): Promise<string> {
    const value = payload[provider.userClaim];
    if (typeof value !== "string" || value === "" || value.length > 320) {
      throw unauthenticated(`The token has no ${provider.userClaim} claim to name a Baton user`);
    }
    const byEmail = provider.userClaim === "email";
    if (byEmail && payload.email_verified === false) throw unauthenticated("The identity provider says this email is not verified");
    const found = byEmail ? await this.repo.userByEmail(provider.organizationId, value) : await this.repo.userByExternalId(provider.organizationId, value);
    if (found) return found.id;
    if (!provider.createUsers) throw unauthenticated("There is no Baton user for this sign-in");
    const email = byEmail ? value : typeof payload.email === "string" ? payload.email : null;
    if (!email || !/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 320) {
      throw unauthenticated("There is no Baton user for this sign-in, and the token has no email to create one with");
    }
    const name = typeof payload.name === "string" && payload.name.trim() !== "" ? payload.name.trim().slice(0, 200) : email;
    // A concurrent first sign-in may have created the user while this insert waited on it: its
    // statement's snapshot cannot see that row, a new statement can.
    const created =
      (await this.repo.createUser(provider.organizationId, { email, name, externalId: byEmail ? null : value })) ??
      (byEmail ? await this.repo.userByEmail(provider.organizationId, value) : await this.repo.userByExternalId(provider.organizationId, value));
    if (!created) {
      throw unauthenticated(`There is no Baton user for this sign-in, and another user has the email ${email}: an admin links them (upsertUser with externalId)`);
    }
    return created.id;
  }

  private async providerOf(issuer: string): Promise<IdentityProvider | null> {
    const now = this.clock();
    const cached = this.providers.get(issuer);
    if (cached && cached.until > now) return cached.provider;
    const provider = await this.repo.byIssuer(issuer);
    if (this.providers.size >= 10_000) this.providers.clear();
    this.providers.set(issuer, { provider, until: now + PROVIDER_CACHE_MS });
    return provider;
  }

  private changed(before: string | null, after: string | null): void {
    this.origins = null;
    for (const issuer of [before, after]) {
      if (issuer === null) continue;
      this.providers.delete(issuer);
      this.keys.forget(issuer);
    }
    for (const listener of this.changeListeners) listener();
  }

  private async requireIssuer(raw: unknown): Promise<string> {
    if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_URL_LENGTH) throw badInput(`issuer must be a URL of at most ${MAX_URL_LENGTH} characters`, "issuer");
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw badInput("issuer is not a URL", "issuer");
    }
    if (url.search || url.hash || url.username || url.password) throw badInput("issuer has no query, fragment or credentials", "issuer");
    const insecure = this.opts.allowInsecureIssuers;
    if (url.protocol !== "https:" && !(insecure && url.protocol === "http:")) throw badInput("issuer must be https://", "issuer");
    if (!insecure) {
      let found: { addresses: string[]; private: string[] };
      try {
        found = await privateAddressesOf(url.hostname, this.resolve);
      } catch {
        throw badInput(`issuer's host ${url.hostname} does not resolve`, "issuer");
      }
      if (found.private.length > 0 || found.addresses.length === 0) {
        throw badInput(`issuer's host resolves to ${found.private[0] ?? "nothing"}, not a public address`, "issuer");
      }
    }
    // Kept exactly as given: tokens' iss must equal it byte for byte (a trailing slash matters).
    return raw;
  }
}

/** Why a provider's token is refused, from jose's error. */
function refusal(err: unknown): BatonError {
  if (err instanceof ProviderUnavailable || err instanceof ProviderMisconfigured) {
    return new BatonError(ErrorCode.SERVICE_UNAVAILABLE, `The identity provider's keys cannot be read right now (${err.message}); retry shortly`, {
      retryAfterSeconds: 5,
    });
  }
  if (err instanceof UnknownKey) return unauthenticated("The token's key (kid) is not among its issuer's published keys");
  if (err instanceof errors.JWTExpired) return unauthenticated("The token has expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    const what: Record<string, string> = {
      aud: "The token is not meant for this organization's audience (aud)",
      iss: "The token's issuer (iss) is not the configured one",
      nbf: "The token is not valid yet (nbf)",
      exp: "The token has no expiry (exp)",
    };
    return unauthenticated(what[err.claim] ?? `The token's ${err.claim} claim is not valid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return unauthenticated("The token's algorithm is not accepted");
  return unauthenticated("The token is not valid");
}
