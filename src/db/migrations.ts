import { Init1764050000000 } from "../../migrations/1764050000000-Init";
import { AgendaJobs1764060000000 } from "../../migrations/1764060000000-AgendaJobs";
import { BulkAndReporting1764070000000 } from "../../migrations/1764070000000-BulkAndReporting";
import { CommitOrderedEvents1764080000000 } from "../../migrations/1764080000000-CommitOrderedEvents";
import { TimeoutJobsByRequest1764090000000 } from "../../migrations/1764090000000-TimeoutJobsByRequest";
import { EventsAppendedInStatement1764100000000 } from "../../migrations/1764100000000-EventsAppendedInStatement";
import { Discuss1764110000000 } from "../../migrations/1764110000000-Discuss";
import { Availability1764120000000 } from "../../migrations/1764120000000-Availability";
import { HonestMeasures1764130000000 } from "../../migrations/1764130000000-HonestMeasures";
import { OrganizationTimeZone1764140000000 } from "../../migrations/1764140000000-OrganizationTimeZone";
import { BiDimensions1764150000000 } from "../../migrations/1764150000000-BiDimensions";
import { FallbackChains1764160000000 } from "../../migrations/1764160000000-FallbackChains";
import { TenantScopedBi1764170000000 } from "../../migrations/1764170000000-TenantScopedBi";
import { WebhookEndpoints1764180000000 } from "../../migrations/1764180000000-WebhookEndpoints";
import { WebhookDeliveries1764190000000 } from "../../migrations/1764190000000-WebhookDeliveries";
import { WebhookDeliveryHeads1764200000000 } from "../../migrations/1764200000000-WebhookDeliveryHeads";
import { IdentityProviders1764210000000 } from "../../migrations/1764210000000-IdentityProviders";
import { IdempotencyKeys1764220000000 } from "../../migrations/1764220000000-IdempotencyKeys";
import { WebhookPayloads1764230000000 } from "../../migrations/1764230000000-WebhookPayloads";
import { HandoverPairs1764240000000 } from "../../migrations/1764240000000-HandoverPairs";
import { Capacity1764250000000 } from "../../migrations/1764250000000-Capacity";
import { ReplyWindow1764260000000 } from "../../migrations/1764260000000-ReplyWindow";
import { ReplyWindowBi1764270000000 } from "../../migrations/1764270000000-ReplyWindowBi";
import { EnforceCapacity1764280000000 } from "../../migrations/1764280000000-EnforceCapacity";
import { HandoverLoops1764290000000 } from "../../migrations/1764290000000-HandoverLoops";
import { OverriddenRuleBi1764300000000 } from "../../migrations/1764300000000-OverriddenRuleBi";
import { AuditChain1764310000000 } from "../../migrations/1764310000000-AuditChain";
import { ChatSessionOrder1764320000000 } from "../../migrations/1764320000000-ChatSessionOrder";

/** Listed explicitly (no glob): the same list works compiled, in vitest and in the CLI. */
export const migrations = [
  Init1764050000000,
  AgendaJobs1764060000000,
  BulkAndReporting1764070000000,
  CommitOrderedEvents1764080000000,
  TimeoutJobsByRequest1764090000000,
  EventsAppendedInStatement1764100000000,
  Discuss1764110000000,
  Availability1764120000000,
  HonestMeasures1764130000000,
  OrganizationTimeZone1764140000000,
  BiDimensions1764150000000,
  FallbackChains1764160000000,
  TenantScopedBi1764170000000,
  WebhookEndpoints1764180000000,
  WebhookDeliveries1764190000000,
  WebhookDeliveryHeads1764200000000,
  IdentityProviders1764210000000,
  IdempotencyKeys1764220000000,
  WebhookPayloads1764230000000,
  HandoverPairs1764240000000,
  Capacity1764250000000,
  ReplyWindow1764260000000,
  ReplyWindowBi1764270000000,
  EnforceCapacity1764280000000,
  HandoverLoops1764290000000,
  OverriddenRuleBi1764300000000,
  AuditChain1764310000000,
  ChatSessionOrder1764320000000,
];
