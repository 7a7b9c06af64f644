import { useEffect } from "react";
import { useQuery } from "urql";
import type { AnyVariables, TypedDocumentNode } from "urql";
import { useSession } from "./session";

/** A query that reads again whenever something changed (the session's version). */
export function useLiveQuery<D, V extends AnyVariables>(query: TypedDocumentNode<D, V>, variables: V, pause = false) {
  const { version } = useSession();
  const [result, reexecute] = useQuery<D, V>({ query, variables, pause });
  useEffect(() => {
    if (version > 0 && !pause) reexecute({ requestPolicy: "network-only" });
  }, [version, reexecute, pause]);
  return [result, reexecute] as const;
}
