// The session's operations: who I am, the live events and notifications, my availability.
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

export const MeQuery = graphql(`
  query ConsoleMe {
    me {
      id
      name
      role
      availability
    }
    serverTime
    unreadNotificationCount
    latestEventSequence
  }
`);

export const EventsSubscription = graphql(`
  subscription ConsoleEvents($scope: EventScope!) {
    assignmentEvents(scope: $scope) {
      id
      sequence
      type
      chatSession {
        ...ConsoleChatHandover
      }
      request {
        ...ConsolePendingRequest
        discussion {
          id
          status
        }
      }
      trackingRecord {
        ...ConsoleRecord
      }
    }
  }
`);

export const EventsSinceQuery = graphql(`
  query ConsoleEventsSince($after: String, $scope: EventScope!) {
    assignmentEventsSince(after: $after, scope: $scope, first: 500) {
      id
      sequence
    }
  }
`);

export const NotificationSubscription = graphql(`
  subscription ConsoleNotifications {
    notificationReceived {
      ...ConsoleNotification
    }
  }
`);

export const SetAvailabilityMutation = graphql(`
  mutation ConsoleSetAvailability($availability: Availability!) {
    setMyAvailability(availability: $availability) {
      id
      availability
    }
  }
`);
