// The notifications inbox.
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

/**
 * A notification with the chat it is about (to link it): the inbox reads it, and a notification
 * heard live joins the inbox in the cache with exactly these fields (session/cache.ts).
 */
export const NotificationFields = graphql(`
  fragment ConsoleNotification on Notification {
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
`);

/** The inbox. */
export const InboxQuery = graphql(`
  query ConsoleInbox {
    notifications(first: 20) {
      edges {
        node {
          ...ConsoleNotification
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

/** What marking a notification read changes, written into the cache for the ids the mutation was given (it answers a count). */
export const ReadAtFields = graphql(`
  fragment ConsoleReadAt on Notification {
    id
    readAt
  }
`);
