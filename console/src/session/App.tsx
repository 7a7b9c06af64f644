import { useEffect, useState } from "react";
import { tokenKey } from "./api";
import { completeSso, endSso, followSsoRenewals } from "./sso";
import { Console } from "./Shell";
import { SignIn } from "./SignIn";

export function App() {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(tokenKey()));
  const [ssoProblem, setSsoProblem] = useState<string | null>(null);
  const [completing, setCompleting] = useState(() => new URLSearchParams(window.location.search).has("state"));
  const signIn = (t: string) => {
    sessionStorage.setItem(tokenKey(), t);
    setToken(t);
  };
  const signOut = () => {
    sessionStorage.removeItem(tokenKey());
    setToken(null);
    void endSso();
  };
  // Back from the identity provider: its token signs in.
  useEffect(() => {
    if (!completing) return;
    completeSso()
      .then((t) => (t ? signIn(t) : undefined))
      .catch((err: unknown) => setSsoProblem(`Single sign-on did not complete: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => setCompleting(false));
  }, [completing]);
  // A provider's token renewed before it expires: the console goes on with the new one.
  useEffect(() => (token ? followSsoRenewals(signIn) : undefined), [token !== null]);
  if (completing) return <main className="signin" aria-busy="true"><p>Signing in…</p></main>;
  if (!token) return <SignIn onSignIn={signIn} problem={ssoProblem} />;
  return <Console key={token} token={token} onSignOut={signOut} />;
}
