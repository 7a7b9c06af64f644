import { Field, ID, Int, ObjectType } from "type-graphql";

// The GraphQL shape of assign-discuss-settings.entity.ts's rows (the transport's; the entity knows no GraphQL).

@ObjectType("AssignDiscussSettings", { description: "Per organization: the request timeout and the quick-pick reasons." })
export class AssignDiscussSettingsObject {
  @Field(() => ID, { name: "id", description: "The organization's id: one settings object per organization (for client caches)." })
  organizationId: string;

  @Field(() => Int, { description: "Applies to requests sent from now on (5..86400)." })
  assignRequestTimeoutSeconds: number;

  @Field(() => Int, { description: "The deadline of Discuss requests sent from now on (5..86400; default 120)." })
  discussRequestTimeoutSeconds: number;

  @Field(() => [String], { description: "Suggestions for the reject popup; the reason itself is free text." })
  rejectReasonPresets: string[];

  @Field(() => [String], { description: "Suggestions for the withdraw popup." })
  withdrawReasonPresets: string[];

  @Field({ description: "Fallback chains: a rejection moves the chain on, as a timeout does (default false)." })
  fallbackOnReject: boolean;

  @Field({ description: "Fallback chains: when nobody in the list took it, the request goes once to a manager (default false)." })
  fallbackToManagers: boolean;

  @Field({ description: "Requests and bulk assignments to AWAY users are refused with RECIPIENT_UNAVAILABLE (default false)." })
  requireAvailableRecipient: boolean;

  @Field(() => Int, { description: "Capacity: the open chats a user may hold unless their own maxOpenChats says otherwise (0, the default: no limit). Ranks suggestedRecipients." })
  defaultMaxOpenChats: number;

  @Field({ description: "Capacity enforced: a request to, an accept by, or a hop or bulk move to someone at their capacity is RECIPIENT_AT_CAPACITY (default false: capacity only ranks suggestions)." })
  enforceCapacity: boolean;

  @Field(() => Int, { description: "WhatsApp's reply window: free text is allowed this many hours after the customer's last message (24; 0: the channel has no window; at most 168)." })
  replyWindowHours: number;

  @Field({ description: "While a chat's reply window is open, a request's deadline is at the latest the window's end, never under 5 s (default true)." })
  capDeadlineAtReplyWindow: boolean;

  @Field(() => Int, { description: "Loops: a chat moved (accepted or moved directly) this many times in 24 h may not be handed over again: HANDOVER_LIMIT_REACHED (10; 0: no limit; at most 1000)." })
  maxHandoversPerChatPerDay: number;

  @Field(() => Int, { description: "Loops: sending a chat back to who handed it to its owner within this many minutes is HANDOVER_LOOP (30; 0: off; at most 1440)." })
  pingPongMinutes: number;

  @Field({ description: "The organization's IANA time zone (default UTC): the bi views' local dates and times." })
  timeZone: string;

  @Field()
  updatedAt: Date;
}
