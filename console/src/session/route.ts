import { useEffect, useState } from "react";

export type Route =
  | { page: "chats" }
  | { page: "chat"; id: string }
  | { page: "discussions" }
  | { page: "tracking" }
  | { page: "inbox" }
  | { page: "settings" }
  | { page: "supervisor" };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "") || "/";
  const chat = /^\/chats\/([\w-]+)$/.exec(path);
  if (chat?.[1]) return { page: "chat", id: chat[1] };
  if (path === "/tracking") return { page: "tracking" };
  if (path === "/discussions") return { page: "discussions" };
  if (path === "/inbox") return { page: "inbox" };
  if (path === "/settings") return { page: "settings" };
  if (path === "/supervisor") return { page: "supervisor" };
  return { page: "chats" };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
