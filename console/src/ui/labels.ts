// The words the screens share, in one place: the feature page's labels for the API's constants.
// Each screen reads them from here instead of spelling them again.
import type { Availability, TrackingKind, TrackingStatus } from "../gql/graphql";

/** A person's availability, as the header and the supervisor board offer it. */
export const AVAILABILITY: ReadonlyArray<{ value: Availability; label: string }> = [
  { value: "AVAILABLE", label: "Available" },
  { value: "BUSY", label: "Busy" },
  { value: "AWAY", label: "Away" },
];

/** A tracking record's kind: the feature page's options, and a bulk move. */
export const KINDS: ReadonlyArray<{ value: TrackingKind; label: string }> = [
  { value: "ASSIGN_REQUEST", label: "Assign" },
  { value: "DISCUSS_REQUEST", label: "Discuss" },
  { value: "DIRECT_ASSIGN", label: "Bulk" },
];

/** What became of a request, in the words of the history table and the chat's last outcome. */
export const OUTCOMES: ReadonlyArray<{ value: TrackingStatus; label: string }> = [
  { value: "PENDING", label: "pending" },
  { value: "ACCEPTED", label: "accepted" },
  { value: "REJECTED", label: "rejected" },
  { value: "WITHDRAWN", label: "withdrawn" },
  { value: "TIMED_OUT", label: "timed out" },
  { value: "CANCELLED", label: "cancelled" },
  { value: "ASSIGNED", label: "assigned" },
  { value: "ENDED", label: "discussion ended" },
];

const find = (list: ReadonlyArray<{ value: string; label: string }>, value: string): string | undefined => list.find((x) => x.value === value)?.label;

export const kindLabel = (kind: string): string => find(KINDS, kind) ?? "Assign";

export const describeOutcome = (status: string): string => find(OUTCOMES, status) ?? status.toLowerCase();

/** A request's kind (ASSIGN | DISCUSS) as a word. */
export const requestKindLabel = (kind: string): string => (kind === "DISCUSS" ? "Discuss" : "Assign");
