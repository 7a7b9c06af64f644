import { useCallback, useState } from "react";

/** Forward Relay paging with a way back: the cursor of this page and of the pages before it. `reset` when the filters change. */
export function usePager() {
  const [after, setAfter] = useState<string | null>(null);
  const [before, setBefore] = useState<Array<string | null>>([]);
  const reset = useCallback(() => {
    setAfter(null);
    setBefore([]);
  }, []);
  const previous = () => {
    setAfter(before[before.length - 1] ?? null);
    setBefore((b) => b.slice(0, -1));
  };
  const next = (endCursor: string | null | undefined) => {
    setBefore((b) => [...b, after]);
    setAfter(endCursor ?? null);
  };
  const controls = (pageInfo: { hasNextPage: boolean; endCursor?: string | null } | undefined) => (
    <div className="pager">
      <button disabled={before.length === 0} onClick={previous}>
        Previous page
      </button>
      <button disabled={!pageInfo?.hasNextPage} onClick={() => next(pageInfo?.endCursor)}>
        Next page
      </button>
    </div>
  );
  return { after, reset, controls };
}
