// Chat Sessions and one chat.
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

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
