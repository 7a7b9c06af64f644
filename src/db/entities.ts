import { AssignmentEvent } from "../modules/assignments/assignment-event.entity";
import { AssignmentRequest } from "../modules/assignments/assignment-request.entity";
import { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import { Discussion, DiscussionMessage } from "../modules/discussions/discussion.entity";
import { Notification } from "../modules/notifications/notification.entity";
import { Organization } from "../modules/organizations/organization.entity";
import { AssignDiscussSettings } from "../modules/settings/assign-discuss-settings.entity";
import { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";
import { User } from "../modules/users/user.entity";

export const entities = [
  Organization,
  User,
  ChatSession,
  AssignmentRequest,
  EngagementTrackingRecord,
  AssignmentEvent,
  Notification,
  AssignDiscussSettings,
  Discussion,
  DiscussionMessage,
];
