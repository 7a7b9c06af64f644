import type { CombinedError } from "urql";

/** What each of the API's `extensions.code` means to a person (the README's table, in plain words). */
const SENTENCES: Record<string, string> = {
  UNAUTHENTICATED: "Your sign-in is no longer valid. Please sign in again.",
  FORBIDDEN: "You are not allowed to do that.",
  NOT_FOUND: "That no longer exists, or you cannot see it.",
  BAD_USER_INPUT: "Some of what you entered is not valid.",
  ASSIGNMENT_ALREADY_PENDING: "This chat already has a pending request. Wait for an answer or withdraw it first.",
  REQUEST_NOT_PENDING: "This request has already been answered.",
  REQUEST_EXPIRED: "Too late: the request timed out before your answer.",
  CHAT_CLOSED: "This chat is closed.",
  DISCUSSION_ENDED: "This discussion has ended.",
  RECIPIENT_UNAVAILABLE: "That colleague is away and cannot receive requests right now.",
  RECIPIENT_AT_CAPACITY: "That colleague already holds as many open chats as they may.",
  HANDOVER_LOOP: "That colleague just handed this chat over: sending it straight back would bounce the customer. Choose someone else, or ask a manager.",
  HANDOVER_LIMIT_REACHED: "This chat has changed hands as often as allowed today. A manager may still move it.",
  INVALID_RECIPIENT: "That colleague cannot take this chat (inactive, the owner, yourself, or of the wrong role).",
  RATE_LIMITED: "Too many actions in a short time. Please wait a moment and try again.",
  SERVICE_UNAVAILABLE: "Baton cannot reach its database right now. Nothing was changed; please try again shortly.",
  QUERY_TOO_COMPLEX: "That request was too large for the server.",
  LIMIT_EXCEEDED: "Too many live views are open in this tab.",
};

const FIELDS: Record<string, string> = {
  reason: "A reason of 1 to 500 characters is required.",
  assignRequestTimeoutSeconds: "The timeout must be a whole number of seconds between 5 and 86,400.",
  discussRequestTimeoutSeconds: "The timeout must be a whole number of seconds between 5 and 86,400.",
  rejectReasonPresets: "Each quick pick must be 1 to 500 characters, without repeats.",
  withdrawReasonPresets: "Each quick pick must be 1 to 500 characters, without repeats.",
  note: "The note may be at most 1,000 characters.",
  maxHandoversPerChatPerDay: "Handovers per chat per day must be a whole number from 0 (no limit) to 1,000.",
  pingPongMinutes: "The hand-back window must be a whole number of minutes from 0 (off) to 1,440.",
  replyWindowHours: "The reply window must be a whole number of hours from 0 (no window) to 168.",
  timeZone: "The time zone must be a name such as Europe/Berlin.",
  defaultMaxOpenChats: "Open chats per person must be a whole number from 0 (no limit) to 10,000.",
};

/** A human sentence for an API error, chosen by its code (and the field, where that says more); never the raw message. */
export function sentence(error: CombinedError | undefined | null): string | null {
  if (!error) return null;
  if (error.networkError && error.graphQLErrors.length === 0) return "Baton cannot be reached. Check your connection; the console keeps trying.";
  const first = error.graphQLErrors[0];
  const text = (value: unknown): string => (typeof value === "string" ? value : "");
  const code = text(first?.extensions?.code);
  const field = text(first?.extensions?.field);
  if (code === "BAD_USER_INPUT" && FIELDS[field]) return FIELDS[field];
  return SENTENCES[code] ?? "Something went wrong on our side. Please try again.";
}
