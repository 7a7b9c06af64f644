// Discussions: the private panel after an accepted Discuss request.
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

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
              id
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
      body
      author {
        id
        name
      }
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
      body
      author {
        id
        name
      }
    }
  }
`);
