import pino from "pino";
import type { DataSource } from "typeorm";
import { createBatonPubSub } from "../../src/events/pubsub";
import { createServices } from "../../src/services";
import { TEST_JWT_SECRET } from "./factories";

export function testServices(ds: DataSource) {
  const pubsub = createBatonPubSub();
  return { ...createServices(ds, pubsub, TEST_JWT_SECRET, pino({ level: "silent" })) };
}

/** The error code a promise rejects with, or "resolved". */
export async function codeOfRejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "resolved";
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (!code) throw err;
    return code;
  }
}
