// Requests: sending, answering, and whom to send them to.
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

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
