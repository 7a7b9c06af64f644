import { graphql } from "./gql";

export const RecordFields = graphql(`
  fragment ConsoleRecord on EngagementTrackingRecord {
    id
    kind
    status
    requestedAt
    respondedAt
    reason
    chatSession {
      customerName
    }
    initiatedBy {
      name
    }
    fromUser {
      name
    }
    toUser {
      name
    }
  }
`);

// Every operation the console sends, typed by GraphQL Code Generator's client preset against
// schema/schema.graphql (`npm run codegen` writes ./gql).

export const MeQuery = graphql(`
  query ConsoleMe {
    me {
      id
      name
      role
      availability
    }
    serverTime
    unreadNotificationCount
    latestEventSequence
  }
`);

export const ChatSessionsQuery = graphql(`
  query ConsoleChatSessions($filter: ChatSessionFilter, $orderBy: ChatSessionOrder, $first: Int, $after: String) {
    chatSessions(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      edges {
        node {
          id
          customerName
          customerPhone
          status
          lastCustomerMessageAt
          owner {
            id
            name
          }
          pendingRequest {
            id
            recipient {
              id
              name
            }
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const ChatQuery = graphql(`
  query ConsoleChat($id: ID!) {
    chatSession(id: $id) {
      id
      customerName
      customerPhone
      status
      lastCustomerMessageAt
      replyWindowEndsAt
      replyWindowOpen
      owner {
        id
        name
      }
      pendingRequest {
        id
        kind
        status
        expiresAt
        note
        sender {
          id
          name
        }
        recipient {
          id
          name
        }
      }
    }
    engagementTrackingRecords(filter: { chatSessionId: $id }, first: 25) {
      edges {
        node {
          ...ConsoleRecord
        }
      }
    }
  }
`);

export const SuggestionsQuery = graphql(`
  query ConsoleSuggestions($chatSessionId: ID!, $kind: RequestKind, $recipientType: RecipientType) {
    suggestedRecipients(chatSessionId: $chatSessionId, kind: $kind, recipientType: $recipientType, first: 3) {
      user {
        id
        name
      }
      score
      reasons
    }
  }
`);

export const UsersQuery = graphql(`
  query ConsoleUsers($role: UserRole) {
    users(role: $role) {
      id
      name
      role
      availability
      online
      openChatCount
    }
  }
`);

/** Every setting, as the Settings page reads and saves them (one list for the query and the mutation's answer). */
export const SettingsFields = graphql(`
  fragment ConsoleSettingsFields on AssignDiscussSettings {
    assignRequestTimeoutSeconds
    discussRequestTimeoutSeconds
    fallbackOnReject
    fallbackToManagers
    requireAvailableRecipient
    replyWindowHours
    capDeadlineAtReplyWindow
    timeZone
    rejectReasonPresets
    withdrawReasonPresets
    maxHandoversPerChatPerDay
    pingPongMinutes
    defaultMaxOpenChats
    enforceCapacity
  }
`);

export const SettingsQuery = graphql(`
  query ConsoleSettings {
    assignDiscussSettings {
      ...ConsoleSettingsFields
    }
  }
`);

export const UpdateSettingsMutation = graphql(`
  mutation ConsoleUpdateSettings($input: AssignDiscussSettingsInput!) {
    updateAssignDiscussSettings(input: $input) {
      ...ConsoleSettingsFields
    }
  }
`);

export const AssignMutation = graphql(`
  mutation ConsoleAssign($input: AssignChatInput!) {
    assignChat(input: $input) {
      id
      status
      expiresAt
    }
  }
`);

export const DiscussMutation = graphql(`
  mutation ConsoleDiscuss($input: DiscussChatInput!) {
    discussChat(input: $input) {
      id
      status
      expiresAt
    }
  }
`);

export const AcceptMutation = graphql(`
  mutation ConsoleAccept($requestId: ID!) {
    acceptAssignment(requestId: $requestId) {
      id
      status
    }
  }
`);

export const RejectMutation = graphql(`
  mutation ConsoleReject($requestId: ID!, $reason: String!) {
    rejectAssignment(requestId: $requestId, reason: $reason) {
      id
      status
    }
  }
`);

export const WithdrawMutation = graphql(`
  mutation ConsoleWithdraw($requestId: ID!, $reason: String!) {
    withdrawAssignment(requestId: $requestId, reason: $reason) {
      id
      status
    }
  }
`);

export const BulkAssignMutation = graphql(`
  mutation ConsoleBulkAssign($input: BulkAssignChatsInput!) {
    bulkAssignChats(input: $input) {
      assignedCount
      skippedCount
      results {
        chatSessionId
        outcome
      }
    }
  }
`);

export const IncomingQuery = graphql(`
  query ConsoleIncoming {
    assignmentRequests(filter: { direction: INCOMING, status: PENDING }, first: 50) {
      edges {
        node {
          id
          kind
          expiresAt
          note
          hop
          replyWindowEndsAt
          sender {
            name
          }
          chatSession {
            id
            customerName
          }
        }
      }
    }
    notifications(first: 20) {
      edges {
        node {
          id
          message
          createdAt
          readAt
        }
      }
    }
  }
`);

export const MarkReadMutation = graphql(`
  mutation ConsoleMarkRead($ids: [ID!]!) {
    markNotificationsRead(ids: $ids)
  }
`);

export const TrackingQuery = graphql(`
  query ConsoleTracking($filter: EngagementTrackingRecordFilter, $first: Int, $after: String) {
    engagementTrackingRecords(filter: $filter, first: $first, after: $after) {
      edges {
        node {
          ...ConsoleRecord
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const NotificationSubscription = graphql(`
  subscription ConsoleNotifications {
    notificationReceived {
      id
      message
      request {
        id
        chatSession {
          id
          customerName
        }
      }
    }
  }
`);

export const EventsSubscription = graphql(`
  subscription ConsoleEvents($scope: EventScope!) {
    assignmentEvents(scope: $scope) {
      sequence
      type
    }
  }
`);

export const EventsSinceQuery = graphql(`
  query ConsoleEventsSince($after: String, $scope: EventScope!) {
    assignmentEventsSince(after: $after, scope: $scope, first: 500) {
      sequence
    }
  }
`);

export const DiscussionsQuery = graphql(`
  query ConsoleDiscussions($filter: DiscussionFilter) {
    discussions(filter: $filter, first: 20) {
      edges {
        node {
          id
          status
          startedAt
          endedAt
          endReason
          requester {
            id
            name
          }
          consultant {
            id
            name
          }
          endedBy {
            name
          }
          chatSession {
            id
            customerName
          }
        }
      }
    }
  }
`);

export const DiscussionMessagesQuery = graphql(`
  query ConsoleDiscussionLog($id: ID!) {
    discussion(id: $id) {
      id
      messages(first: 50) {
        edges {
          node {
            id
            body
            author {
              name
            }
          }
        }
      }
    }
  }
`);

export const PostMessageMutation = graphql(`
  mutation ConsolePostMessage($discussionId: ID!, $body: String!) {
    postDiscussionMessage(discussionId: $discussionId, body: $body) {
      id
    }
  }
`);

export const EndDiscussionMutation = graphql(`
  mutation ConsoleEndDiscussion($discussionId: ID!) {
    endDiscussion(discussionId: $discussionId) {
      id
      status
    }
  }
`);

export const DiscussionMessagesSubscription = graphql(`
  subscription ConsoleDiscussionMessageAdded($discussionId: ID!) {
    discussionMessageAdded(discussionId: $discussionId) {
      id
    }
  }
`);

export const SetAvailabilityMutation = graphql(`
  mutation ConsoleSetAvailability($availability: Availability!) {
    setMyAvailability(availability: $availability) {
      id
      availability
    }
  }
`);

// ---- Webhooks (Settings, admins; issue #22) ----

export const WebhookEndpointFields = graphql(`
  fragment ConsoleWebhookEndpoint on WebhookEndpoint {
    id
    url
    eventTypes
    enabled
    disabledReason
    createdAt
  }
`);

export const WebhookEndpointsQuery = graphql(`
  query ConsoleWebhookEndpoints {
    webhookEndpoints {
      ...ConsoleWebhookEndpoint
    }
  }
`);

export const CreateWebhookEndpointMutation = graphql(`
  mutation ConsoleCreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      secret
      endpoint {
        ...ConsoleWebhookEndpoint
      }
    }
  }
`);

export const UpdateWebhookEndpointMutation = graphql(`
  mutation ConsoleUpdateWebhookEndpoint($id: ID!, $input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(id: $id, input: $input) {
      id
      enabled
      disabledReason
    }
  }
`);

export const DeleteWebhookEndpointMutation = graphql(`
  mutation ConsoleDeleteWebhookEndpoint($id: ID!) {
    deleteWebhookEndpoint(id: $id)
  }
`);

export const WebhookDeliveriesQuery = graphql(`
  query ConsoleWebhookDeliveries($endpointId: ID!, $first: Int) {
    webhookDeliveries(endpointId: $endpointId, first: $first) {
      edges {
        node {
          id
          eventSequence
          eventType
          status
          attempts
          lastResponseStatus
          lastError
          nextAttemptAt
          deliveredAt
        }
      }
    }
  }
`);

export const RedeliverWebhooksMutation = graphql(`
  mutation ConsoleRedeliverWebhooks($endpointId: ID!, $afterSequence: String!) {
    redeliverWebhooks(endpointId: $endpointId, afterSequence: $afterSequence)
  }
`);

export const CloseChatMutation = graphql(`
  mutation ConsoleCloseChat($id: ID!) {
    closeChatSession(id: $id) {
      id
      status
    }
  }
`);

/** The inbox: each notification with the chat it is about (to link it). */
export const InboxQuery = graphql(`
  query ConsoleInbox {
    notifications(first: 20) {
      edges {
        node {
          id
          message
          createdAt
          readAt
          request {
            id
            chatSession {
              id
              customerName
            }
          }
        }
      }
    }
  }
`);

/** The supervisor board (managers and admins): what is pending in the organization, now. */
export const SupervisorPendingQuery = graphql(`
  query ConsoleSupervisorPending {
    assignmentRequests(filter: { direction: ALL, status: PENDING }, first: 50) {
      edges {
        node {
          id
          kind
          expiresAt
          hop
          sender {
            id
            name
          }
          recipient {
            id
            name
          }
          chatSession {
            id
            customerName
          }
        }
      }
    }
  }
`);

/** The supervisor board: every active member with presence, availability and load. */
export const SupervisorAgentsQuery = graphql(`
  query ConsoleSupervisorAgents {
    users {
      id
      name
      role
      online
      availability
      openChatCount
      maxOpenChats
    }
  }
`);

/** The supervisor board's "Today": the day's handovers and why requests were rejected. */
export const SupervisorTodayQuery = graphql(`
  query ConsoleSupervisorToday($from: DateTime!, $to: DateTime!) {
    handoverStats(from: $from, to: $to, groupBy: DAY) {
      day
      handovers
      accepted
      rejected
      timedOut
      withdrawn
      acceptanceRate
      medianSecondsToAccept
      p90SecondsToAccept
    }
    rejectReasons(from: $from, to: $to) {
      reason
      count
    }
  }
`);

export const SetUserAvailabilityMutation = graphql(`
  mutation ConsoleSetUserAvailability($userId: ID!, $availability: Availability!) {
    setUserAvailability(userId: $userId, availability: $availability) {
      id
      availability
    }
  }
`);
