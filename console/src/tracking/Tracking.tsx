import { useEffect, useState } from "react";
import { useQuery } from "urql";
import { apiOrigin, tokenKey } from "../session/api";
import { useSession } from "../session/session";
import { useLiveQuery } from "../session/useLiveQuery";
import { RecordsTable } from "./RecordsTable";
import { PeopleQuery, TrackingQuery } from "./operations";
import { ErrorLine } from "../ui/ErrorLine";
import { KINDS, OUTCOMES } from "../ui/labels";
import { usePager } from "../ui/usePager";

export function Tracking() {
  const { me } = useSession();
  // The export is for managers and admins (the API's tracking.export): others are not offered it.
  const mayExport = me.role !== "USER";
  const [status, setStatus] = useState("");
  const [kind, setKind] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [userId, setUserId] = useState("");
  const [{ data: people }] = useQuery({ query: PeopleQuery });
  const [download, setDownload] = useState<string | null>(null);
  const filter = {
    userId: userId || null,
    status: status || null,
    kind: kind || null,
    from: from ? new Date(from).toISOString() : null,
    to: to ? new Date(to).toISOString() : null,
  } as Record<string, string | null>;
  const pager = usePager();
  // Other filters, another list: back to its first page.
  useEffect(() => pager.reset(), [status, kind, from, to, userId, pager.reset]);
  const [{ data, error }] = useLiveQuery(TrackingQuery, { filter: filter as never, first: 25, after: pager.after });
  const rows = data?.engagementTrackingRecords.edges.map((e) => e.node) ?? [];
  const pageInfo = data?.engagementTrackingRecords.pageInfo;
  const csv = async () => {
    setDownload(null);
    const params = new URLSearchParams();
    // The file holds what the page shows: every filter of the list.
    for (const name of ["from", "to", "status", "kind", "userId"]) if (filter[name]) params.set(name, filter[name]);
    const res = await fetch(`${apiOrigin()}/exports/engagement-tracking-records.csv?${params}`, {
      headers: { authorization: `Bearer ${sessionStorage.getItem(tokenKey()) ?? ""}` },
    });
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { errors?: Array<{ extensions?: { code?: string } }> } | null;
      const code = body?.errors?.[0]?.extensions?.code;
      setDownload(code === "FORBIDDEN" ? "Only managers and admins may download tracking records." : "The download failed. Please try again.");
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = "engagement-tracking-records.csv";
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <section aria-labelledby="tracking-title">
      <h1 id="tracking-title">Tracking records</h1>
      <div className="toolbar">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any</option>
            {OUTCOMES.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">Any</option>
            {KINDS.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          User
          <select value={userId} onChange={(e) => setUserId(e.target.value)}>
            <option value="">Anyone</option>
            {(people?.users ?? []).map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        {mayExport && <button onClick={() => void csv()}>Download CSV</button>}
      </div>
      {download && <p role="alert">{download}</p>}
      <ErrorLine error={error} />
      <RecordsTable records={rows} showCustomer />
      {pager.controls(pageInfo)}
    </section>
  );
}
