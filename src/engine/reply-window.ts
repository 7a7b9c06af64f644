/**
 * WhatsApp's reply window (issue #24), as a chat's reader sees it: free text is allowed until
 * `hours` after the customer's last message. The same definition as the SQL function the writes
 * call (baton_reply_window_end, migrations/1764260000000-ReplyWindow.ts), which caps deadlines:
 * test/e2e/reply-window.test.ts checks that a request's window end equals its chat's.
 */
export interface ReplyWindow {
  /** When free text stops being allowed; null: no customer message yet, or the channel has no window. */
  endsAt: Date | null;
  /** Free text allowed now: the channel has no window, or it has not ended. */
  open: boolean;
}

export function replyWindow(lastCustomerMessageAt: Date | null, hours: number, now: Date): ReplyWindow {
  if (hours <= 0) return { endsAt: null, open: true };
  if (!lastCustomerMessageAt) return { endsAt: null, open: false };
  const endsAt = new Date(lastCustomerMessageAt.getTime() + hours * 3_600_000);
  return { endsAt, open: endsAt > now };
}

/** A customer message's time may run ahead of ours by this much (clocks); more is BAD_USER_INPUT. */
export const MAX_MESSAGE_CLOCK_SKEW_MS = 5 * 60_000;
