import { useEffect, useState } from "react";
import { apiOrigin } from "./api";
import { findSso, startSso } from "./sso";

export interface DemoUser {
  name: string;
  role: string;
  token: string;
}

export function SignIn({ onSignIn, problem }: { onSignIn: (token: string) => void; problem: string | null }) {
  const [value, setValue] = useState("");
  const [demo, setDemo] = useState<DemoUser[]>([]);
  const [email, setEmail] = useState("");
  const [ssoError, setSsoError] = useState<string | null>(problem);
  const [busy, setBusy] = useState(false);
  // A sign-in link an admin hands out names the organization (?organization=<id>).
  const organization = new URLSearchParams(window.location.search).get("organization") ?? undefined;
  const sso = async () => {
    setBusy(true);
    setSsoError(null);
    try {
      const found = await findSso(organization ? { organization } : { email: email.trim() });
      if (typeof found === "string") setSsoError(found);
      else await startSso(found);
    } catch {
      setSsoError("Single sign-on is not available right now");
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    // Only a Baton started with its embedded demo answers this; elsewhere it is 404 and the list stays empty.
    fetch(`${apiOrigin()}/console/demo-users.json`)
      .then((r) => (r.ok ? (r.json() as Promise<DemoUser[]>) : []))
      .then(setDemo, () => setDemo([]));
  }, []);
  return (
    <main className="signin">
      <h1>Baton</h1>
      <p>Hand live WhatsApp chats to each other.</p>
      <form
        aria-label="Single sign-on"
        onSubmit={(e) => {
          e.preventDefault();
          void sso();
        }}
      >
        {!organization && (
          <label>
            Work email
            <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" />
          </label>
        )}
        <button type="submit" disabled={busy}>
          Sign in with single sign-on
        </button>
        {ssoError && <p role="alert">{ssoError}</p>}
      </form>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onSignIn(value.trim());
        }}
      >
        <label>
          Token
          <input name="token" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" />
        </label>
        <button type="submit">Sign in</button>
      </form>
      {demo.length > 0 && (
        <section aria-label="Sign in as">
          <h2>Sign in as</h2>
          <ul className="demo-users">
            {demo.map((u) => (
              <li key={u.token}>
                <button type="button" onClick={() => onSignIn(u.token)}>
                  {u.name} ({u.role.toLowerCase()})
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
