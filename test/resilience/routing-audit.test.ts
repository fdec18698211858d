import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { fault, type FaultStep } from "../support/fault-injector.js";
import { askVia, collectSdkStream, FAST_ROUTING, useResilienceGateway, userMessage } from "./resilience-harness.js";

/** A provider's 404 for the model, as OpenAI sends it (retired model, or no access with this key). */
const MODEL_NOT_FOUND: FaultStep = {
  kind: "status",
  status: 404,
  body: { error: { message: "The model `m` does not exist or you do not have access to it.", type: "invalid_request_error", param: null, code: "model_not_found" } },
};

const rig = useResilienceGateway(
  { a: { text: "from a" }, b: { text: "from b" } },
  `${FAST_ROUTING.replace("failure_threshold: 100", "failure_threshold: 2")}
models:
  ordered: { strategy: fallback, targets: [a/m, b/m] }
  spare: { strategy: loadbalance, targets: [{ model: a/m, weight: 1 }, { model: b/m, weight: 0 }] }`,
);

const ask = (body: Record<string, unknown>) => askVia(rig(), body);

describe("a provider's 404 for one target's model", () => {
  it("fails over to the virtual model's next target, once, without a retry", async () => {
    rig().upstreams.a?.always(MODEL_NOT_FOUND);
    const answer = await ask({ model: "ordered" });
    expect(answer.text).toBe("from b");
    expect(answer.headers.get("x-switchyard-failed")).toBe("a/m model_not_found");
    expect(rig().upstreams.a?.attempts).toHaveLength(1);
  });

  it("fails over to the request's fallbacks, streamed too", async () => {
    rig().upstreams.a?.always(MODEL_NOT_FOUND);
    expect((await ask({ model: "a/m", fallbacks: ["b/m"] })).text).toBe("from b");
    const stream = await rig().openai.chat.completions.create({ model: "a/m", fallbacks: ["b/m"], messages: userMessage(), stream: true } as unknown as OpenAI.ChatCompletionCreateParamsStreaming);
    expect((await collectSdkStream(stream)).text).toBe("from b");
  });

  it("does not count against the target's circuit: the primary is still called, and answers once it has the model", async () => {
    rig().upstreams.a?.script(MODEL_NOT_FOUND, MODEL_NOT_FOUND, MODEL_NOT_FOUND);
    for (let index = 0; index < 3; index++) expect((await ask({ model: "ordered" })).text).toBe("from b");
    expect((await ask({ model: "ordered" })).text).toBe("from a");
    expect(rig().upstreams.a?.attempts).toHaveLength(4);
  });

  it("without another target, is the caller's 404 model_not_found, and so when every target says it", async () => {
    rig().upstreams.a?.always(MODEL_NOT_FOUND);
    rig().upstreams.b?.always(MODEL_NOT_FOUND);
    for (const body of [{ model: "a/m" }, { model: "ordered" }]) {
      const error = await ask(body).then(() => undefined, (thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("model_not_found");
    }
  });
});

describe("loadbalance with a target of weight 0", () => {
  it("never sends it a request first; it serves only as the fallback", async () => {
    for (let index = 0; index < 40; index++) expect((await ask({ model: "spare" })).text).toBe("from a");
    expect(rig().upstreams.b?.attempts).toHaveLength(0);
    rig().upstreams.a?.always(fault.authFailed());
    const answer = await ask({ model: "spare" });
    expect(answer.text).toBe("from b");
    expect(answer.headers.get("x-switchyard-failed")).toBe("a/m provider_auth_failed");
  });
});

describe("model ids", () => {
  it("split at the first '/': the rest, slashes and case kept, goes upstream even when the account's catalogue does not list it", async () => {
    for (const [id, upstream] of [["a/meta-llama/Llama-3-8b-Instruct", "meta-llama/Llama-3-8b-Instruct"], ["a/Not-In-Catalogue", "Not-In-Catalogue"]] as const) {
      const answer = await ask({ model: id });
      expect(answer.model).toBe(id);
      expect(answer.headers.get("x-switchyard-model")).toBe(id);
      expect(rig().upstreams.a?.attempts.at(-1)?.model).toBe(upstream);
    }
  });

  it("an account name in another case, or a virtual model in another case, is 404 model_not_found before any upstream call", async () => {
    for (const model of ["A/m", "Ordered", "nosuch/m", "a/", "/m"]) {
      const error = await ask({ model }).then(() => undefined, (thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("model_not_found");
    }
    expect(rig().upstreams.a?.attempts).toHaveLength(0);
    expect(rig().upstreams.b?.attempts).toHaveLength(0);
  });
});
