import type { User, UserManager } from "oidc-client-ts";
import { apiOrigin } from "./api";

/** What Baton says about signing in with an organization's identity provider (GET /console/sso.json). */
export interface SsoConfig {
  issuer: string;
  clientId: string;
  /** Which token Baton accepts from this provider. */
  token: "id_token" | "access_token";
  audience: string;
}

/** The provider a sign-in in progress (or done) uses: kept for this tab, per API origin. */
const configKey = (): string => `baton.sso:${apiOrigin()}`;

/**
 * The Authorization Code flow with PKCE, by oidc-client-ts (a maintained OpenID Connect client,
 * not our own OAuth): the provider's sign-in page, back to this page with a code, exchanged for
 * tokens in the browser. Tokens live in this tab's sessionStorage; they are renewed before they
 * expire when the provider gives a refresh token.
 */
async function managerFor(sso: SsoConfig): Promise<UserManager> {
  // Loaded only by those who use single sign-on: the bundle everyone loads stays as it was.
  const { UserManager, WebStorageStateStore } = await import("oidc-client-ts");
  return new UserManager({
    authority: sso.issuer,
    client_id: sso.clientId,
    redirect_uri: `${window.location.origin}${window.location.pathname}`,
    response_type: "code",
    scope: "openid email profile",
    automaticSilentRenew: true,
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });
}

/** The provider for this email or organization, or a sentence saying why there is none. */
export async function findSso(hint: { email?: string; organization?: string }): Promise<SsoConfig | string> {
  const query = hint.organization ? `organization=${encodeURIComponent(hint.organization)}` : `email=${encodeURIComponent(hint.email ?? "")}`;
  const res = await fetch(`${apiOrigin()}/console/sso.json?${query}`);
  if (res.ok) return (await res.json()) as SsoConfig;
  const body = (await res.json().catch(() => null)) as { errors?: Array<{ message?: string }> } | null;
  return body?.errors?.[0]?.message ?? "Single sign-on is not available right now";
}

/** Leaves for the provider's sign-in page. */
export async function startSso(sso: SsoConfig): Promise<void> {
  sessionStorage.setItem(configKey(), JSON.stringify(sso));
  await (await managerFor(sso)).signinRedirect();
}

const tokenOf = (sso: SsoConfig, user: User): string | null => (sso.token === "id_token" ? (user.id_token ?? null) : user.access_token);

function storedConfig(): SsoConfig | null {
  const raw = sessionStorage.getItem(configKey());
  return raw ? (JSON.parse(raw) as SsoConfig) : null;
}

/** Back from the provider (?code=…&state=…): the token to sign in with, the address cleaned; null when this is not such a return. */
export async function completeSso(): Promise<string | null> {
  const params = new URLSearchParams(window.location.search);
  const sso = storedConfig();
  if (!sso || !params.has("state") || !(params.has("code") || params.has("error"))) return null;
  try {
    const user = await (await managerFor(sso)).signinRedirectCallback();
    return tokenOf(sso, user);
  } finally {
    window.history.replaceState(null, "", `${window.location.pathname}${window.location.hash}`);
  }
}

/** Calls `onToken` with each renewed token of the tab's single sign-on (none without one); returns what stops it. */
export function followSsoRenewals(onToken: (token: string) => void): () => void {
  const sso = storedConfig();
  if (!sso) return () => undefined;
  const renewed = (user: User) => {
    const token = tokenOf(sso, user);
    if (token) onToken(token);
  };
  let stopped = false;
  let manager: UserManager | null = null;
  void managerFor(sso).then((m) => {
    if (stopped) return;
    manager = m;
    m.events.addUserLoaded(renewed);
    // Picks up the stored user so that its renewal is scheduled in this page too.
    void m.getUser();
  });
  return () => {
    stopped = true;
    manager?.events.removeUserLoaded(renewed);
    manager?.stopSilentRenew();
  };
}

/** Signing out ends the local session (the provider's own stays as the provider keeps it). */
export async function endSso(): Promise<void> {
  const sso = storedConfig();
  sessionStorage.removeItem(configKey());
  if (sso) await (await managerFor(sso)).removeUser();
}
