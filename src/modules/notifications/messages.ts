import { NotificationType } from "./notification.entity";

export interface MessageFacts {
  senderName: string;
  recipientName: string;
  actorName: string | null;
  reason: string | null;
  /** Which side of the request reads it. */
  reader: "sender" | "recipient";
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
  }
}
