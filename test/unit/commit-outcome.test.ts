import { HeaderMap } from "@apollo/server";
import { describe, expect, it } from "vitest";
import { serviceUnavailableStatus } from "../../src/graphql/format-error";

/** What Apollo hands the plugin for a mutation whose only error is the given one. */
async function answer(extensions: Record<string, unknown>): Promise<{ status?: number; retryAfter?: string }> {
  const http = { status: undefined as number | undefined, headers: new HeaderMap() };
  const listener = await serviceUnavailableStatus.requestDidStart!({} as never);
  await listener!.willSendResponse!({
    operation: { operation: "mutation" },
    response: { http, body: { kind: "single", singleResult: { data: null, errors: [{ message: "x", path: ["assignChat"], extensions }] } } },
  } as never);
  return { status: http.status, retryAfter: http.headers.get("retry-after") };
}

describe("a database outage's HTTP answer", () => {
  it("nothing was changed: 503 with Retry-After", async () => {
    expect(await answer({ code: "SERVICE_UNAVAILABLE" })).toEqual({ status: 503, retryAfter: "1" });
  });

  it("the change may have been made (commitOutcome UNKNOWN): 503 without Retry-After, which would invite a blind retry", async () => {
    expect(await answer({ code: "SERVICE_UNAVAILABLE", commitOutcome: "UNKNOWN" })).toEqual({ status: 503, retryAfter: undefined });
  });
});
