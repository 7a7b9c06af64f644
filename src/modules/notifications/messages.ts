import { NotificationType } from "./notification.entity";

/** How a message names a party whose user no longer exists. */
export const FORMER_USER = "A former user";

export interface MessageFacts {
  senderName: string;
  recipientName: string;
  actorName: string | null;
  reason: string | null;
  /** Which side of the request reads it. */
  reader: "sender" | "recipient";
  /** Fallback chains (to the sender): why the request moved on, where to, and whom the chain tried. */
  chain?: ChainFacts;
}

export interface ChainFacts {
  /** What happened to the hop that just ended. */
  cause: "timeout" | "reject" | "away";
  /** Who has the request now; null when the chain ended with nobody. */
  nextName: string | null;
  /** Everyone the chain tried, in order, and how each hop ended (the last one: `cause`). */
  tried: Array<{ name: string; outcome: "timeout" | "reject" | "away" }>;
}

/** "Martha", "Martha and Lisa", "Martha, Lisa and Maria". */
const namesList = (names: string[]): string =>
  names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;

function chainMessage(type: NotificationType, f: MessageFacts): string {
  const chain = f.chain ?? { cause: "timeout", nextName: null, tried: [{ name: f.recipientName, outcome: "timeout" }] };
  if (type === NotificationType.ASSIGNMENT_FORWARDED) {
    const what = chain.cause === "reject" ? "declined" : chain.cause === "away" ? "went away" : "did not respond in time";
    return `${f.recipientName} ${what}; the request went to ${chain.nextName ?? "nobody"}.`;
  }
  const outcomes = new Set(chain.tried.map((t) => (t.outcome === "reject" ? "reject" : "silent")));
  const how = outcomes.size > 1 ? "did not take it" : outcomes.has("reject") ? "declined" : "did not respond";
  return `Nobody took the chat: ${namesList(chain.tried.map((t) => t.name))} ${how}.`;
}

/** The text of each notification, worded like the feature page. */
export function notificationMessage(type: NotificationType, f: MessageFacts): string {
  const reason = f.reason ? `: ${f.reason}` : ".";
  switch (type) {
    case NotificationType.ASSIGNMENT_REQUESTED:
      return `${f.senderName} has sent you a chat assignment request.`;
    case NotificationType.ASSIGNMENT_ACCEPTED:
      return `${f.recipientName} accepted your chat assignment request.`;
    case NotificationType.ASSIGNMENT_REJECTED:
      return `${f.recipientName} rejected your chat assignment request${reason}`;
    case NotificationType.ASSIGNMENT_WITHDRAWN:
      return f.reader === "recipient"
        ? `${f.actorName ?? f.senderName} withdrew the chat assignment request${reason}`
        : `${f.actorName ?? "A manager"} withdrew your chat assignment request to ${f.recipientName}${reason}`;
    case NotificationType.ASSIGNMENT_TIMED_OUT:
      return f.reader === "sender"
        ? `Your chat assignment request to ${f.recipientName} timed out.`
        : `The chat assignment request from ${f.senderName} timed out.`;
    case NotificationType.ASSIGNMENT_CANCELLED:
      return f.reader === "sender"
        ? `Your chat assignment request to ${f.recipientName} was cancelled${reason}`
        : `The chat assignment request from ${f.senderName} was cancelled${reason}`;
    case NotificationType.ASSIGNMENT_FORWARDED:
    case NotificationType.ASSIGNMENT_UNCLAIMED:
      return chainMessage(type, f);
    case NotificationType.CHATS_ASSIGNED:
      return `${f.actorName ?? f.senderName} assigned you a chat.`;
    case NotificationType.DISCUSSION_REQUESTED:
      return `${f.senderName} has requested to discuss with you.`;
    case NotificationType.DISCUSSION_ACCEPTED:
      return `${f.recipientName} accepted your request to discuss.`;
    case NotificationType.DISCUSSION_REJECTED:
      return `${f.recipientName} rejected your request to discuss${reason}`;
    case NotificationType.DISCUSSION_WITHDRAWN:
      return f.reader === "recipient"
        ? `${f.actorName ?? f.senderName} withdrew the request to discuss${reason}`
        : `${f.actorName ?? "A manager"} withdrew your request to discuss with ${f.recipientName}${reason}`;
    case NotificationType.DISCUSSION_TIMED_OUT:
      return f.reader === "sender"
        ? `Your request to discuss with ${f.recipientName} timed out.`
        : `The request to discuss from ${f.senderName} timed out.`;
    case NotificationType.DISCUSSION_CANCELLED:
      return f.reader === "sender"
        ? `Your request to discuss with ${f.recipientName} was cancelled${reason}`
        : `The request to discuss from ${f.senderName} was cancelled${reason}`;
    case NotificationType.DISCUSSION_ENDED:
      return `${f.actorName ?? "Baton"} ended the discussion${reason}`;
    case NotificationType.WEBHOOK_ENDPOINT_DISABLED:
      return "Baton disabled a webhook endpoint that kept failing.";
  }
}

/** To the organization's admins when Baton disables an endpoint (webhookDisabledReason says why, on the endpoint). */
export function webhookDisabledMessage(url: string, hours: number): string {
  return `Baton disabled the webhook endpoint ${url}: every delivery to it failed for ${hours} hours. Fix it, enable it again in Settings and redeliver what it missed.`;
}

/** The endpoint's disabledReason when Baton disables it. */
export function webhookDisabledReason(hours: number, lastError: string): string {
  return `Every delivery failed for ${hours} hours (last: ${lastError})`.slice(0, 500);
}

/**
 * The text of a notification when only some names are known (undefined: not read yet), or null
 * when its words need a name that is not known: the caller reads first.
 */
export function messageIfKnown(
  type: NotificationType,
  f: Omit<MessageFacts, "senderName" | "recipientName"> & { senderName: string | undefined; recipientName: string | undefined },
): string | null {
  let needsUnknown = false;
  const name = (n: string | undefined): string => {
    if (n === undefined) needsUnknown = true;
    return n ?? "";
  };
  const text = notificationMessage(type, {
    ...f,
    get senderName() {
      return name(f.senderName);
    },
    get recipientName() {
      return name(f.recipientName);
    },
  });
  return needsUnknown ? null : text;
}
