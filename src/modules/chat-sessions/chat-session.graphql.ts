import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { ChatChannel, ChatStatus } from "./chat-session.entity";
import { ChatSessionOrder } from "./chat-session.service";

// The GraphQL shape of chat-session.entity.ts's rows (the transport's; the entity knows no GraphQL).

registerEnumType(ChatStatus, { name: "ChatStatus" });

registerEnumType(ChatChannel, { name: "ChatChannel" });

registerEnumType(ChatSessionOrder, {
  name: "ChatSessionOrder",
  valuesConfig: {
    NEWEST: { description: "Newest chats first (the default)." },
    LATEST_CUSTOMER_MESSAGE: { description: "The chats whose customer wrote last first; chats never written to after them." },
  },
});

@ObjectType("ChatSession", { description: "One WhatsApp conversation with a customer." })
export class ChatSessionObject {
  @Field(() => ID)
  id: string;

  @Field()
  customerName: string;

  @Field({ description: "E.164, e.g. +14155550123" })
  customerPhone: string;

  @Field(() => ChatChannel)
  channel: ChatChannel;

  @Field(() => ChatStatus)
  status: ChatStatus;

  @Field(() => Date, { nullable: true })
  lastCustomerMessageAt: Date | null;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}
