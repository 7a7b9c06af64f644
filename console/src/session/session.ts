import { createContext, useContext } from "react";

export interface Session {
  me: { id: string; name: string; role: string };
  /** Server clock minus browser clock, in ms: countdowns use the server's time. */
  skewMs: number;
  /**
   * Bumped when a dropped socket came back: what happened meanwhile reached no cache, so the pages
   * read again. Otherwise the cache follows the events and answers (session/cache.ts).
   */
  resyncs: number;
  notify: (text: string, chat?: ToastChat | null) => void;
}

/** The chat a toast is about: named and linked. */
export interface ToastChat {
  id: string;
  customerName: string;
}

export const SessionContext = createContext<Session | null>(null);

export const useSession = (): Session => {
  const s = useContext(SessionContext);
  if (!s) throw new Error("no session");
  return s;
};
