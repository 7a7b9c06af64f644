// Assign/Discuss Settings and webhooks (admins).
// Typed by GraphQL Code Generator's client preset against schema/schema.graphql (`npm run codegen`
// writes ../gql from every console/src/*/operations.ts).
import { graphql } from "../gql";

/** Every setting, as the Settings page reads and saves them (one list for the query and the mutation's answer). */
export const SettingsFields = graphql(`
  fragment ConsoleSettingsFields on AssignDiscussSettings {
    id
    assignRequestTimeoutSeconds
    discussRequestTimeoutSeconds
    fallbackOnReject
    fallbackToManagers
    requireAvailableRecipient
    replyWindowHours
    capDeadlineAtReplyWindow
    timeZone
    rejectReasonPresets
    withdrawReasonPresets
    maxHandoversPerChatPerDay
    pingPongMinutes
    defaultMaxOpenChats
    enforceCapacity
  }
`);

export const SettingsQuery = graphql(`
  query ConsoleSettings {
    assignDiscussSettings {
      ...ConsoleSettingsFields
    }
  }
`);

export const UpdateSettingsMutation = graphql(`
  mutation ConsoleUpdateSettings($input: AssignDiscussSettingsInput!) {
    updateAssignDiscussSettings(input: $input) {
      ...ConsoleSettingsFields
    }
  }
`);

export const WebhookEndpointFields = graphql(`
  fragment ConsoleWebhookEndpoint on WebhookEndpoint {
    id
    url
    eventTypes
    enabled
    disabledReason
    createdAt
  }
`);

export const WebhookEndpointsQuery = graphql(`
  query ConsoleWebhookEndpoints {
    webhookEndpoints {
      ...ConsoleWebhookEndpoint
    }
  }
`);

export const CreateWebhookEndpointMutation = graphql(`
  mutation ConsoleCreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      secret
      endpoint {
        ...ConsoleWebhookEndpoint
      }
    }
  }
`);

export const UpdateWebhookEndpointMutation = graphql(`
  mutation ConsoleUpdateWebhookEndpoint($id: ID!, $input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(id: $id, input: $input) {
      id
      enabled
      disabledReason
    }
  }
`);

export const DeleteWebhookEndpointMutation = graphql(`
  mutation ConsoleDeleteWebhookEndpoint($id: ID!) {
    deleteWebhookEndpoint(id: $id)
  }
`);

export const WebhookDeliveriesQuery = graphql(`
  query ConsoleWebhookDeliveries($endpointId: ID!, $first: Int) {
    webhookDeliveries(endpointId: $endpointId, first: $first) {
      edges {
        node {
          id
          eventSequence
          eventType
          status
          attempts
          lastResponseStatus
          lastError
          nextAttemptAt
          deliveredAt
        }
      }
    }
  }
`);

export const RedeliverWebhooksMutation = graphql(`
  mutation ConsoleRedeliverWebhooks($endpointId: ID!, $afterSequence: String!) {
    redeliverWebhooks(endpointId: $endpointId, afterSequence: $afterSequence)
  }
`);
