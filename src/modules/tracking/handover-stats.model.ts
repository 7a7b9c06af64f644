/** How handoverStats groups the handovers (issue #24). */
export enum HandoverStatsGrouping {
  SENDER = "SENDER",
  RECIPIENT = "RECIPIENT",
  PAIR = "PAIR",
  DAY = "DAY",
}

/**
 * One group of handovers: the tracking records of chats handed over (requests to assign and
 * direct assignments; discussions are not handovers) requested in the period. `handovers` counts
 * them all; the outcomes count requests that ended so; the rest are pending, cancelled or direct.
 */
export interface HandoverStatsRow {
  senderId: string | null;
  recipientId: string | null;
  /** YYYY-MM-DD in the organization's time zone (DAY only). */
  day: string | null;
  handovers: number;
  accepted: number;
  rejected: number;
  timedOut: number;
  withdrawn: number;
  /** accepted / (accepted + rejected + timedOut); null when none of those. */
  acceptanceRate: number | null;
  /** Over accepted requests, seconds from request to acceptance. */
  medianSecondsToAccept: number | null;
  p90SecondsToAccept: number | null;
}

/** How often one reason was given for rejecting a request (the supervisor's "Today"). */
export interface ReasonCount {
  /** As written; "" when none was. */
  reason: string;
  count: number;
  /** One of the organization's quick picks. */
  preset: boolean;
}
