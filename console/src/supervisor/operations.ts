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
