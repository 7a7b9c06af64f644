import { useEffect } from "react";
import { useQuery } from "urql";
import type { AnyVariables, TypedDocumentNode } from "urql";
import { useSession } from "./session";

/**
 * A page's query: kept current by the normalized cache (events and answers update it; a list that
 * may have gained a member is asked again by itself), and read again after a reconnect.
 */
export function useLiveQuery<D, V extends AnyVariables>(query: TypedDocumentNode<D, V>, variables: V, pause = false) {
  const { resyncs } = useSession();
  const [result, reexecute] = useQuery<D, V>({ query, variables, pause });
  useEffect(() => {
    if (resyncs > 0 && !pause) reexecute({ requestPolicy: "network-only" });
  }, [resyncs, reexecute, pause]);
  return [result, reexecute] as const;
}
