import { useState } from "react";
import { useMutation, useQuery } from "urql";
import type { AssignmentEventType } from "../gql/graphql";
import { CreateWebhookEndpointMutation, DeleteWebhookEndpointMutation, RedeliverWebhooksMutation, UpdateWebhookEndpointMutation, WebhookDeliveriesQuery, WebhookEndpointsQuery } from "./operations";
import { ErrorLine } from "../ui/ErrorLine";
import { label, when } from "../ui/format";

export const EVENT_TYPES: AssignmentEventType[] = ["CREATED", "ACCEPTED", "REJECTED", "WITHDRAWN", "TIMED_OUT", "CANCELLED", "ASSIGNED", "DISCUSSION_ENDED"];

export function Webhooks() {
  const [{ data, error }, refetch] = useQuery({ query: WebhookEndpointsQuery, requestPolicy: "network-only" });
  const [created, create] = useMutation(CreateWebhookEndpointMutation);
  const [updated, update] = useMutation(UpdateWebhookEndpointMutation);
  const [deleted, remove] = useMutation(DeleteWebhookEndpointMutation);
  const [url, setUrl] = useState("");
  const [types, setTypes] = useState<AssignmentEventType[]>([]);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const reload = () => refetch({ requestPolicy: "network-only" });
  return (
    <section aria-labelledby="webhooks-title" className="webhooks">
      <h2 id="webhooks-title">Webhooks</h2>
      <p className="hint">Baton posts every handover to these URLs, signed (Standard Webhooks). See the README for the message and how to verify it.</p>
      {error && <ErrorLine error={error} />}
      {data && data.webhookEndpoints.length === 0 && <p>No endpoints yet.</p>}
      {data && data.webhookEndpoints.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Webhook endpoints">
        <table aria-label="Webhook endpoints">
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.webhookEndpoints.map((e) => (
              <tr key={e.id}>
                <td className="url">{e.url}</td>
                <td>{e.eventTypes.length === 0 ? "All" : e.eventTypes.map(label).join(", ")}</td>
                <td>{e.enabled ? "Enabled" : `Disabled${e.disabledReason ? `: ${e.disabledReason}` : ""}`}</td>
                <td className="row-actions">
                  <button type="button" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                    Deliveries
                  </button>
                  <button type="button" onClick={() => void update({ id: e.id, input: { enabled: !e.enabled } }).then(reload)}>
                    {e.enabled ? "Disable" : "Enable"}
                  </button>
                  <button
                    type="button"
                    onClick={() => {
                      if (window.confirm(`Delete the endpoint ${e.url} and its deliveries?`)) void remove({ id: e.id }).then(reload);
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      <ErrorLine error={updated.error ?? deleted.error} />
      {open && data?.webhookEndpoints.some((e) => e.id === open) && <Deliveries endpointId={open} />}
      <form
        className="settings"
        aria-label="New webhook endpoint"
        onSubmit={(ev) => {
          ev.preventDefault();
          setSecret(null);
          void create({ input: { url: url.trim(), eventTypes: types } }).then((res) => {
            const made = res.data?.createWebhookEndpoint;
            if (!made) return;
            setSecret({ url: made.endpoint.url, secret: made.secret });
            setUrl("");
            setTypes([]);
            reload();
          });
        }}
      >
        <h3>New endpoint</h3>
        <label>
          URL
          <input type="url" required placeholder="https://crm.example.com/hooks/baton" value={url} onChange={(ev) => setUrl(ev.target.value)} />
        </label>
        <fieldset>
          <legend>Events (none ticked: all)</legend>
          {EVENT_TYPES.map((t) => (
            <label key={t} className="check">
              <input type="checkbox" checked={types.includes(t)} onChange={(ev) => setTypes(ev.target.checked ? [...types, t] : types.filter((x) => x !== t))} />
              {label(t)}
            </label>
          ))}
        </fieldset>
        <ErrorLine error={created.error} />
        <button type="submit" className="primary">
          Add endpoint
        </button>
      </form>
      {secret && (
        <div role="status" className="secret">
          <p>
            Endpoint added for {secret.url}. Its signing secret is shown this once: store it in the receiver now.
          </p>
          <code aria-label="Signing secret">{secret.secret}</code>
        </div>
      )}
    </section>
  );
}

export function Deliveries({ endpointId }: { endpointId: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: WebhookDeliveriesQuery, variables: { endpointId, first: 20 }, requestPolicy: "network-only" });
  const [redelivered, redeliver] = useMutation(RedeliverWebhooksMutation);
  const [after, setAfter] = useState("");
  const [queued, setQueued] = useState<number | null>(null);
  const reload = () => refetch({ requestPolicy: "network-only" });
  const rows = data?.webhookDeliveries.edges.map((e) => e.node) ?? [];
  return (
    <section aria-labelledby="deliveries-title" className="deliveries">
      <h3 id="deliveries-title">Recent deliveries</h3>
      <button type="button" onClick={reload} disabled={fetching}>
        Refresh
      </button>
      {error && <ErrorLine error={error} />}
      {data && rows.length === 0 && <p>Nothing sent yet.</p>}
      {rows.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Recent deliveries">
        <table aria-label="Recent deliveries">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Delivered / next attempt</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id}>
                <td>{d.eventSequence}</td>
                <td>{label(d.eventType)}</td>
                <td>{label(d.status)}</td>
                <td>{d.attempts}</td>
                <td className="url">{d.lastError ?? (d.lastResponseStatus ? `HTTP ${d.lastResponseStatus}` : "—")}</td>
                <td>{d.deliveredAt ? when(d.deliveredAt) : d.nextAttemptAt ? `next ${when(d.nextAttemptAt)}` : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      <form
        className="inline"
        onSubmit={(ev) => {
          ev.preventDefault();
          setQueued(null);
          void redeliver({ endpointId, afterSequence: after.trim() }).then((res) => {
            if (res.data) {
              setQueued(res.data.redeliverWebhooks);
              reload();
            }
          });
        }}
      >
        <label>
          Send again every event after
          <input inputMode="numeric" required value={after} onChange={(ev) => setAfter(ev.target.value)} aria-describedby="redeliver-hint" />
        </label>
        <span id="redeliver-hint" className="hint">
          an event number from the list (0: all)
        </span>
        <button type="submit">Redeliver</button>
        <ErrorLine error={redelivered.error} />
        {queued !== null && <p role="status">{queued === 1 ? "1 delivery queued." : `${queued} deliveries queued.`}</p>}
      </form>
    </section>
  );
}
