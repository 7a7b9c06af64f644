// The supervisor board (managers and admins).
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

/** The supervisor board (managers and admins): what is pending in the organization, now. */
export const SupervisorPendingQuery = graphql(`
  query ConsoleSupervisorPending {
    assignmentRequests(filter: { direction: ALL, status: PENDING }, first: 50) {
      edges {
        node {
          id
          kind
          status
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


/**
 * The supervisor board's agents (every active member with presence, availability and load) and its
 * "Today" (the day's handovers and why requests were rejected): one query, so that an event that
 * changes both costs the board one request.
 */
export const SupervisorBoardQuery = graphql(`
  query ConsoleSupervisorBoard($from: DateTime!, $to: DateTime!) {
    users {
      id
      name
      role
      online
      availability
      openChatCount
      maxOpenChats
    }
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
