// Chat Sessions and one chat.
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

/**
 * Who holds a chat and what is pending on it: the chat page shows it, and every event and request
 * answer carries it, so the page changes from the cache without asking (session/cache.ts).
 */
export const ChatHandoverFields = graphql(`
  fragment ConsoleChatHandover on ChatSession {
    id
    status
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
      lastCustomerMessageAt
      replyWindowEndsAt
      replyWindowOpen
      ...ConsoleChatHandover
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

export const CloseChatMutation = graphql(`
  mutation ConsoleCloseChat($id: ID!) {
    closeChatSession(id: $id) {
      id
      status
    }
  }
`);
