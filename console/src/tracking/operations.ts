// Engagement tracking records.
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

export const RecordFields = graphql(`
  fragment ConsoleRecord on EngagementTrackingRecord {
    id
    kind
    status
    requestedAt
    respondedAt
    reason
    chatSession {
      id
      customerName
    }
    initiatedBy {
      id
      name
    }
    fromUser {
      id
      name
    }
    toUser {
      id
      name
    }
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

/** The people the records may be filtered by: names only, so that nobody's load changing asks for them again. */
export const PeopleQuery = graphql(`
  query ConsolePeople {
    users {
      id
      name
    }
  }
`);
