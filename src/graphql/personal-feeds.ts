import type { Topics } from "../events/pubsub";
import type { User } from "../modules/users/user.entity";

/**
 * A subscription field whose feed, for some arguments, is its viewer's own channel: what a
 * contact centre's every agent holds open all shift (`assignmentEvents(scope: MINE)`,
 * `notificationReceived`). Its resolver declares it once here and builds its own feed from it;
 * the multiplexer (graphql/multiplex.ts) serves every socket of such a subscription from one
 * listener per user, without a feed, a context or a class per socket.
 */
export interface PersonalFeed<K extends keyof Topics = keyof Topics> {
  /** Whether the field's arguments (as written, defaults not applied) make it this feed. */
  applies(args: Record<string, unknown>): boolean;
  topic: K;
  /** The viewer's channel on the topic. */
  audience(viewer: User): string;
  /** Whether the viewer, as they are now, gets this message. */
  keep(viewer: User, message: Topics[K][1]): boolean;
}

const feeds = new Map<string, PersonalFeed>();

/** Declares the field's personal feed (once, where its resolver is defined); returns it for the resolver's own use. */
export function personalFeed<K extends keyof Topics>(field: string, feed: PersonalFeed<K>): PersonalFeed<K> {
  feeds.set(field, feed);
  return feed;
}

/** The personal feed of a root field for these arguments, if it is one. */
export function personalFeedOf(field: string, args: Record<string, unknown>): PersonalFeed | undefined {
  const feed = feeds.get(field);
  return feed?.applies(args) ? feed : undefined;
}
