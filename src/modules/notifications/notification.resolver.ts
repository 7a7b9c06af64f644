import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { audience } from "../../events/pubsub";
import { Filtered } from "../../events/feed";
import { personalFeed } from "../../graphql/personal-feeds";
import { receiveNotification } from "../../graphql/subscriptions";
import { type Context, viewerOf } from "../../graphql/context";
import { ConnectionType, pageArgs, toConnection } from "../../graphql/pagination";
import { AssignmentRequest } from "../assignments/assignment-request.entity";
import { Notification } from "./notification.entity";
import { AssignmentRequestObject } from "../assignments/assignment-request.graphql";
import { NotificationObject } from "./notification.graphql";

const NotificationConnection = ConnectionType(NotificationObject, "Notification");

/** My notifications: my own channel, and of it what is addressed to me. */
const mine = personalFeed("notificationReceived", {
  applies: () => true,
  topic: "NOTIFICATION",
  audience: (viewer) => audience.user(viewer.id),
  keep: (viewer, n) => n.userId === viewer.id,
});

@Resolver(() => NotificationObject)
export class NotificationResolver {
  @Query(() => NotificationConnection, { description: "My notifications, newest first." })
  notifications(
    @Ctx() ctx: Context,
    @Arg("unreadOnly", () => Boolean, { nullable: true }) unreadOnly?: boolean,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    const viewer = viewerOf(ctx);
    return ctx.services.notifications.list(viewer, unreadOnly ?? false, pageArgs(first, after)).then(toConnection);
  }

  @Query(() => Int, { description: "How many of my notifications are unread (an inbox badge)." })
  unreadNotificationCount(@Ctx() ctx: Context): Promise<number> {
    return ctx.services.notifications.unreadCount(viewerOf(ctx));
  }

  @Mutation(() => Int, { description: "Marks my notifications read; returns how many were unread. Others' ids are ignored." })
  markNotificationsRead(@Arg("ids", () => [ID]) ids: string[], @Ctx() ctx: Context): Promise<number> {
    return ctx.services.notifications.markRead(viewerOf(ctx), ids);
  }

  @Subscription(() => NotificationObject, {
    description: "My notifications, live, as they are stored.",
    subscribe: ({ context }: { context: Context }) => {
      const viewer = viewerOf(context);
      return new Filtered(
        context.services.pubsub.subscribe(mine.topic, mine.audience(viewer), { onOverflow: context.onFeedOverflow, onInterrupted: context.onFeedInterrupted }),
        (n: Notification) => mine.keep(viewer, n),
      );
    },
  })
  notificationReceived(@Root() message: Notification, @Ctx() ctx: Context): Notification {
    return receiveNotification(ctx, message);
  }

  @FieldResolver(() => AssignmentRequestObject, { nullable: true })
  async request(@Root() n: Notification, @Ctx() ctx: Context): Promise<AssignmentRequest | null> {
    return n.requestId ? ctx.loaders.request.load(n.requestId) : null;
  }
}
