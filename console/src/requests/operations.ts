// Requests: sending, answering, and whom to send them to.
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

/** A pending request as the incoming cards, the supervisor board and the events show it (one selection, so an event updates them all). */
export const PendingRequestFields = graphql(`
  fragment ConsolePendingRequest on AssignmentRequest {
    id
    kind
    status
    expiresAt
    note
    hop
    replyWindowEndsAt
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
`);

export const IncomingQuery = graphql(`
  query ConsoleIncoming {
    assignmentRequests(filter: { direction: INCOMING, status: PENDING }, first: 40) {
      edges {
        node {
          ...ConsolePendingRequest
        }
      }
    }
  }
`);

/**
 * What a request's answer carries back into the cache: the request, its chat as the change left it
 * (owner, pending request) and its tracking record, so the pages showing them change at once.
 */
export const RequestOutcomeFields = graphql(`
  fragment ConsoleRequestOutcome on AssignmentRequest {
    id
    kind
    status
    expiresAt
    chatSession {
      ...ConsoleChatHandover
    }
    trackingRecord {
      ...ConsoleRecord
    }
  }
`);

export const AssignMutation = graphql(`
  mutation ConsoleAssign($input: AssignChatInput!) {
    assignChat(input: $input) {
      ...ConsoleRequestOutcome
    }
  }
`);

export const DiscussMutation = graphql(`
  mutation ConsoleDiscuss($input: DiscussChatInput!) {
    discussChat(input: $input) {
      ...ConsoleRequestOutcome
    }
  }
`);

export const AcceptMutation = graphql(`
  mutation ConsoleAccept($requestId: ID!) {
    acceptAssignment(requestId: $requestId) {
      ...ConsoleRequestOutcome
    }
  }
`);

export const RejectMutation = graphql(`
  mutation ConsoleReject($requestId: ID!, $reason: String!) {
    rejectAssignment(requestId: $requestId, reason: $reason) {
      ...ConsoleRequestOutcome
    }
  }
`);

export const WithdrawMutation = graphql(`
  mutation ConsoleWithdraw($requestId: ID!, $reason: String!) {
    withdrawAssignment(requestId: $requestId, reason: $reason) {
      ...ConsoleRequestOutcome
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
