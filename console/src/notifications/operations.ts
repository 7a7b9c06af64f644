// The notifications inbox.
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

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

export const MarkReadMutation = graphql(`
  mutation ConsoleMarkRead($ids: [ID!]!) {
    markNotificationsRead(ids: $ids)
  }
`);

/** What marking a notification read changes, written into the cache from the mutation's answer. */
export const ReadAtFields = graphql(`
  fragment ConsoleReadAt on Notification {
    id
    readAt
  }
`);
