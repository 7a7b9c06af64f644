import { createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import type { DataSource } from "typeorm";
import { fromRow } from "../../db/hydrate";
import { BatonError, ErrorCode } from "../../errors";
import { isUuid } from "../../validation";
import { User } from "../users/user.entity";

export const DEFAULT_TOKEN_TTL_SECONDS = 7 * 24 * 3600;
/** The longest a token may live: one without `exp`, or expiring later than this from now, is refused. */
export const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

/** HS256 bearer tokens whose `sub` is a user id. Role, organization and active flag come from the database. */
export class TokenService {
  /** Made once: given the string, jsonwebtoken would build a key object on every verify. */
  private readonly key: KeyObject;

  constructor(
    secret: string,
    private readonly dataSource: DataSource,
  ) {
    this.key = createSecretKey(Buffer.from(secret, "utf8"));
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
    // A token that never expires cannot be taken back short of changing the secret for everyone.
    if (typeof payload.exp !== "number") throw new BatonError(ErrorCode.UNAUTHENTICATED, "The token has no expiry (exp)");
    if (payload.exp - Date.now() / 1000 > MAX_TOKEN_TTL_SECONDS) {
      throw new BatonError(ErrorCode.UNAUTHENTICATED, `The token expires more than ${MAX_TOKEN_TTL_SECONDS / 86_400} days from now`);
    }
    return { userId: payload.sub, expiresAt: new Date(payload.exp * 1000) };
  }

  /** Reads `Bearer <jwt>` and loads the active user it names. */
  async authenticate(header: string | undefined | null): Promise<{ user: User; expiresAt: Date }> {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
    if (!match?.[1]) throw new BatonError(ErrorCode.UNAUTHENTICATED, "Send Authorization: Bearer <token>");
    const { userId, expiresAt } = this.verify(match[1]);
    const [row] = await this.dataSource.query<Array<Record<string, unknown>>>(`SELECT * FROM users WHERE id = $1`, [userId]);
    const user = row ? fromRow(User, row) : null;
    if (!user) throw new BatonError(ErrorCode.UNAUTHENTICATED, "The token's user does not exist");
    if (!user.active) throw new BatonError(ErrorCode.UNAUTHENTICATED, "The user is deactivated");
    return { user, expiresAt };
  }
}
