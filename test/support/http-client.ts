import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

export interface Answer<T> {
  /** HTTP status; 0 when the request never got an answer (connection refused or reset). */
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; [k: string]: unknown } }>;
  /** The transport error, when there was no answer. */
  failure?: string;
  ms: number;
}

/** One GraphQL call over HTTP to a server process; never throws, so loads can record every outcome. */
export async function call<T, V>(url: string, doc: TypedDocumentNode<T, V>, variables: V, token?: string): Promise<Answer<T>> {
  const started = Date.now();
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: print(doc), variables }),
    });
    const json = (await res.json()) as Omit<Answer<T>, "status" | "ms">;
    return { status: res.status, ...json, ms: Date.now() - started };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { status: 0, failure: cause?.code ?? cause?.message ?? String(err), ms: Date.now() - started };
  }
}

export const codeOfAnswer = (a: Answer<unknown>): string | undefined => a.errors?.[0]?.extensions?.code;
