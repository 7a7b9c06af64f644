import { createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import type { DataSource } from "typeorm";
import { poolSql } from "../../db/sql";
import { UserRepository } from "../../repositories/user.repository";
import { BatonError, ErrorCode } from "../../errors";
import { audience, type BatonPubSub } from "../../events/pubsub";
import { isUuid } from "../../validation";
import type { User } from "../users/user.entity";
import { type IdentityService, MAX_TOKEN_CHARS } from "../identity/identity.service";

/** A provider's token is verified again after this long (a provider removed on another instance stops it by then). */
const PROVIDER_RECHECK_MS = 60_000;

export const DEFAULT_TOKEN_TTL_SECONDS = 7 * 24 * 3600;
/** The longest a token may live: one without `exp`, or expiring later than this from now, is refused. */
export const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

/** HS256 bearer tokens whose `sub` is a user id. Role, organization and active flag come from the database. */
export class TokenService {
  /** Made once: given the string, jsonwebtoken would build a key object on every verify. */
  private readonly key: KeyObject;
  /**
   * Users read for authentication, kept USER_CACHE_MS at most. An admin's change to a user (role,
   * name, deactivation) drops the entry at once on every instance (USER_CHANGED); when live
   * delivery between instances may have lost such a message (a Redis outage), the whole cache
   * goes. Without a pubsub (tools, tests) nothing is cached.
   */
  private readonly cache = new Map<string, { user: User; until: number }>();
  private readonly users: UserRepository;
  /** Tokens whose signature and claims were checked: token -> claims, and when to check them again. */
  private readonly verified = new Map<string, { userId: string; expiresAt: Date; recheckAt: number }>();

  constructor(
    secret: string,
    dataSource: DataSource,
    private readonly pubsub?: BatonPubSub,
    /** Organizations' identity providers (OpenID Connect); without it only Baton's own tokens sign in. */
    private readonly identity?: IdentityService,
  ) {
    this.key = createSecretKey(Buffer.from(secret, "utf8"));
    this.users = new UserRepository(poolSql(dataSource));
    // A provider changed or removed here: tokens verified under the old settings are checked again.
    identity?.onChange(() => this.verified.clear());
    if (pubsub) {
      const changes = pubsub.subscribe("USER_CHANGED", audience.instances(), { onOverflow: () => this.cache.clear(), onInterrupted: () => this.cache.clear() });
      void (async () => {
        for await (const change of changes) this.cache.delete(change.userId);
      })();
      pubsub.onGap(() => this.cache.clear());
    }
  }

  sign(userId: string, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS): string {
    if (!(ttlSeconds > 0 && ttlSeconds <= MAX_TOKEN_TTL_SECONDS)) throw new RangeError(`a token lives 1 s to ${MAX_TOKEN_TTL_SECONDS} s`);
    return jwt.sign({}, this.key, { algorithm: "HS256", subject: userId, expiresIn: ttlSeconds });
  }

  /** The token's claims, or UNAUTHENTICATED. */
  verify(token: string): { userId: string; expiresAt: Date } {
    let payload: jwt.JwtPayload;
    try {
      const decoded = jwt.verify(token, this.key, { algorithms: ["HS256"] });
      if (typeof decoded === "string") throw new Error("unexpected payload");
      payload = decoded;
    } catch (err) {
      const expired = err instanceof jwt.TokenExpiredError;
      throw new BatonError(ErrorCode.UNAUTHENTICATED, expired ? "The token has expired" : "The token is not valid");
    }
    if (typeof payload.sub !== "string" || !isUuid(payload.sub)) {
      throw new BatonError(ErrorCode.UNAUTHENTICATED, "The token has no valid subject");
    }
    // Issued in the future (beyond 60 s of clock skew): a forged or mis-clocked token, not ours.
    if (typeof payload.iat === "number" && payload.iat - Date.now() / 1000 > CLOCK_SKEW_SECONDS) {
      throw new BatonError(ErrorCode.UNAUTHENTICATED, "The token is issued in the future (iat)");
    }
    // A token that never expires cannot be taken back short of changing the secret for everyone.
    if (typeof payload.exp !== "number") throw new BatonError(ErrorCode.UNAUTHENTICATED, "The token has no expiry (exp)");
    if (payload.exp - Date.now() / 1000 > MAX_TOKEN_TTL_SECONDS) {
      throw new BatonError(ErrorCode.UNAUTHENTICATED, `The token expires more than ${MAX_TOKEN_TTL_SECONDS / 86_400} days from now`);
    }
    return { userId: payload.sub, expiresAt: new Date(payload.exp * 1000) };
  }

  /**
   * `verify`, remembered per token string: a signature checked once stays checked (same secret,
   * same bytes), so a client sending its token on every request costs one HMAC, not one per
   * request. Only successes are kept, until the token's own expiry, which is checked each time.
   */
  private async verifyOnce(token: string): Promise<{ userId: string; expiresAt: Date }> {
    const known = this.verified.get(token);
    const now = Date.now();
    if (known) {
      if (known.expiresAt.getTime() > now && known.recheckAt > now) return known;
      this.verified.delete(token);
    }
    let claims: { userId: string; expiresAt: Date; recheckAt: number };
    if (this.identity && !isBatonToken(token)) {
      const signIn = await this.identity.signIn(token);
      claims = { ...signIn, recheckAt: now + PROVIDER_RECHECK_MS };
    } else {
      const own = this.verify(token);
      claims = { ...own, recheckAt: own.expiresAt.getTime() };
    }
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.clear();
    this.verified.set(token, claims);
    return claims;
  }

  /**
   * Reads `Bearer <jwt>` and loads the active user it names: a Baton token (HS256, JWT_SECRET) or
   * a token of an organization's identity provider (see IdentityService).
   */
  async authenticate(header: string | undefined | null): Promise<{ user: User; expiresAt: Date }> {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
    if (!match?.[1]) throw new BatonError(ErrorCode.UNAUTHENTICATED, "Send Authorization: Bearer <token>");
    if (match[1].length > MAX_TOKEN_CHARS) throw new BatonError(ErrorCode.UNAUTHENTICATED, "The token is longer than 16 kB");
    const { userId, expiresAt } = await this.verifyOnce(match[1]);
    const user = await this.findUser(userId);
    if (!user) throw new BatonError(ErrorCode.UNAUTHENTICATED, "The token's user does not exist");
    if (!user.active) throw new BatonError(ErrorCode.UNAUTHENTICATED, "The user is deactivated");
    return { user, expiresAt };
  }

  /** The embedded demo's users, each with a token (printed at start and offered by the console's "Sign in as"). */
  async demoTokens(): Promise<Array<{ name: string; role: User["role"]; token: string }>> {
    return (await this.users.demoUsers()).map((u) => ({ name: u.name, role: u.role, token: this.sign(u.id) }));
  }

  /** A token for the one active user with this email (any organization); an Error when none or several. */
  async tokenForEmail(email: string): Promise<{ userId: string; token: string }> {
    const rows = await this.users.activeByEmail(email);
    if (rows.length !== 1 || !rows[0]) {
      throw new Error(rows.length === 0 ? `no active user has the email ${email}` : `${rows.length} organizations have an active user with the email ${email}`);
    }
    return { userId: rows[0].id, token: this.sign(rows[0].id) };
  }

  /** Drops a user's cached copy on this instance: the next `authenticate` reads it again. */
  forget(userId: string): void {
    this.cache.delete(userId);
  }

  private async findUser(userId: string): Promise<User | null> {
    const now = Date.now();
    const cached = this.cache.get(userId);
    if (cached && cached.until > now) return cached.user;
    const user = await this.users.findById(userId);
    if (user && this.pubsub) {
      if (this.cache.size >= USER_CACHE_SIZE) this.cache.clear();
      this.cache.set(userId, { user, until: now + USER_CACHE_MS });
    }
    return user;
  }
}

/** Whether a JWT's header says HS256, Baton's own kind (anything else is a provider's to judge, or refused). */
function isBatonToken(token: string): boolean {
  const dot = token.indexOf(".");
  if (dot <= 0) return true; // not a JWT: Baton's verify says why
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), "base64url").toString("utf8")) as { alg?: unknown };
    return header.alg === "HS256";
  } catch {
    return true;
  }
}

/** How far a token's issue time (iat) may be ahead of this server's clock. */
export const CLOCK_SKEW_SECONDS = 60;

/** How long an authenticated user is reused without reading it again (changes drop it sooner; see TokenService). */
export const USER_CACHE_MS = 5_000;
const USER_CACHE_SIZE = 50_000;
const VERIFIED_CACHE_SIZE = 50_000;
