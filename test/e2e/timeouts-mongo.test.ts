import { MongoBackend } from "@agendajs/mongo-backend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssignChatDocument, AssignmentChainDocument, AssignmentRequestDocument } from "../../schema/generated/graphql";
import { createBackend } from "../../src/jobs/timeout-scheduler";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, type World } from "../support/factories";
import { startTestServer, type TestServer } from "../support/server";
import { testServices } from "../support/services";

const mongoUrl = process.env.AGENDA_MONGO_URL;

describe("Agenda's MongoDB backend", () => {
  it("is what AGENDA_MONGO_URL selects", async () => {
    const { backend } = await createBackend({ postgresUrl: "postgres://unused", mongoUrl: "mongodb://127.0.0.1:1/baton" });
    expect(backend).toBeInstanceOf(MongoBackend);
    expect(backend.name).toMatch(/mongo/i);
  });
});

describe.skipIf(!mongoUrl)(
  `the timeout path on MongoDB (${mongoUrl ? `at ${mongoUrl}` : "skipped: AGENDA_MONGO_URL is not set and no MongoDB server runs here; .ci/run sets it to a FerretDB it builds"})`,
  () => {
    let db: TestDatabase;
    let server: TestServer;
    let w: World;
    beforeAll(async () => {
      db = await createTestDatabase();
      // A collection per test database, so runs never share jobs.
      const url = new URL(mongoUrl!);
      url.pathname = `/${db.name}`;
      server = await startTestServer(db.dataSource, { mongoUrl: url.toString(), sweepEveryMs: 600_000 });
      w = await createWorld(db.dataSource);
      await testServices(db.dataSource).settings.update(w.admin, { assignRequestTimeoutSeconds: 5 });
    });
    afterAll(async () => {
      await server?.stop();
      await db?.drop();
    });

    it("a 5 s request times out within 6.5 s, scheduled and run through MongoDB", async () => {
      const sent = await server.gql(AssignChatDocument, { input: assignInput(w.chat.id, w.martha.id) }, w.token(w.mark));
      const id = sent.data!.assignChat.id;
      await new Promise((r) => setTimeout(r, 6_500));
      const res = await server.gql(AssignmentRequestDocument, { id }, w.token(w.mark));
      expect(res.data!.assignmentRequest!.status).toBe("TIMED_OUT");
      expect(res.data!.assignmentRequest!.trackingRecord.status).toBe("TIMED_OUT");
      const late = new Date(res.data!.assignmentRequest!.respondedAt!).getTime() - new Date(res.data!.assignmentRequest!.expiresAt).getTime();
      expect(late).toBeLessThan(1_500);
    }, 20_000);

    it("a fallback chain: the hop's job is scheduled through MongoDB after its commit, and fires in turn", async () => {
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const sent = await server.gql(AssignChatDocument, { input: { ...assignInput(chat.id, w.martha.id), fallbackRecipientIds: [w.tom.id] } }, w.token(w.mark));
      const id = sent.data!.assignChat.id;
      await new Promise((r) => setTimeout(r, 6_500));
      const first = (await server.gql(AssignmentChainDocument, { id }, w.token(w.mark))).data!.assignmentRequest!;
      expect(first.status).toBe("TIMED_OUT");
      expect(first.nextRequest).toMatchObject({ status: "PENDING", hop: 2, recipient: { id: w.tom.id } });
      // The sweeper is slowed down: only the hop's own job, in MongoDB, can time it out.
      await new Promise((r) => setTimeout(r, 6_500));
      const hop = (await server.gql(AssignmentChainDocument, { id: first.nextRequest!.id }, w.token(w.mark))).data!.assignmentRequest!;
      expect(hop).toMatchObject({ status: "TIMED_OUT", nextRequest: null });
    }, 30_000);
  },
);
