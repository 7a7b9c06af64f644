import type { ConsoleRecordFragment } from "../gql/graphql";
import { when } from "../ui/format";
import { describeOutcome, kindLabel } from "../ui/labels";

export type RecordRow = ConsoleRecordFragment;

/** Tracking records as a table: the chat's history, and the Tracking records page (with the customer). */
export function RecordsTable({ records, showCustomer = false }: { records: readonly RecordRow[]; showCustomer?: boolean }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Tracking records table">
    <table>
      <thead>
        <tr>
          <th scope="col">When</th>
          {showCustomer && <th scope="col">Customer</th>}
          <th scope="col">Kind</th>
          <th scope="col">By</th>
          <th scope="col">From</th>
          <th scope="col">To</th>
          <th scope="col">Status</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {records.map((r) => (
          <tr key={r.id}>
            <td>{when(r.requestedAt)}</td>
            {showCustomer && <td>{r.chatSession.customerName}</td>}
            <td>{kindLabel(r.kind)}</td>
            <td>{r.initiatedBy.name}</td>
            <td>{r.fromUser.name}</td>
            <td>{r.toUser.name}</td>
            <td>{describeOutcome(r.status)}</td>
            <td>{r.reason ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}
