import helmet from "helmet";

/**
 * Browser hardening for every response (the console at "/", the API, the exports), by helmet:
 * a Content-Security-Policy that lets the console load only its own files and talk only to its
 * own origin and the API origins the server lists (CONSOLE_API_ORIGINS: so even a script that
 * tried could not send a token elsewhere), no framing by any site (clickjacking), nosniff, and
 * no Referer leaving the page. The API answers JSON, to which the same policy is harmless.
 */
export function securityHeaders(
  apiOrigins: readonly string[],
  /** The identity providers the console signs in with: their discovery document, keys and token endpoint are read by the console itself. */
  ssoOrigins: readonly string[] = [],
) {
  const sockets = apiOrigins.map((o) => o.replace(/^http/, "ws"));
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        fontSrc: ["'self'"],
        // 'self' covers ws:/wss: to the page's own host (CSP level 3).
        connectSrc: ["'self'", ...apiOrigins, ...sockets, ...ssoOrigins],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // The console may call an API on another origin (CORS): the API's answers must stay readable there.
    crossOriginResourcePolicy: { policy: "cross-origin" },
    referrerPolicy: { policy: "no-referrer" },
    // Served over plain HTTP in development and behind TLS-terminating proxies in production: HSTS is the proxy's to set.
    strictTransportSecurity: false,
  });
}
