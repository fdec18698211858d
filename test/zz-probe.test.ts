import { it } from "vitest";
import { postChat, testApp, upstreamSse } from "./http/rest-test-setup.js";
const c = (delta: object, finish: string | null = null, index = 0, extra: object = {}) => ({ id: "chatcmpl-u", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini", choices: [{ index, delta, finish_reason: finish }], ...extra });
it("probe", async () => {
  const cases: [string, object[], object][] = [
    ["empty answer", [c({ role: "assistant", content: "" }), c({}, "stop"), { id: "chatcmpl-u", choices: [], usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 } }], {}],
    ["n=2", [c({ role: "assistant", content: "" }, null, 0), c({ role: "assistant", content: "" }, null, 1), c({ content: "A" }, null, 0), c({ content: "B" }, null, 1), c({}, "stop", 0), c({}, "length", 1)], { n: 2 }],
    ["reasoning first", [c({ role: "assistant", reasoning_content: "think" }), c({ content: "ok" }), c({}, "stop")], {}],
    ["refusal", [c({ role: "assistant", content: null, refusal: "" }), c({ refusal: "I can't" }, null, 0, {}), c({}, "stop")], {}],
    ["refusal logprobs", [c({ role: "assistant", refusal: "No" }, null, 0), c({}, "stop")], { logprobs: true }],
  ];
  for (const [name, chunks, extra] of cases) {
    const { app } = await testApp({ body: upstreamSse(chunks), headers: { "content-type": "text/event-stream" } });
    const r = await postChat(app, { model: "openai-main/gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true, ...extra });
    console.log("==", name, r.statusCode, r.headers["x-switchyard-warnings"], "\n" + r.body.split("\n\n").map((f) => f.replace(/"object":"chat.completion.chunk","created":\d+,"model":"[^"]+",/, "")).join("\n"));
    await app.close();
  }
  const { app } = await testApp({ body: JSON.stringify({ id: "x", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: null, refusal: "No" }, logprobs: { content: null, refusal: [{ token: "No", logprob: -1, bytes: [78, 111], top_logprobs: [] }] }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }), headers: { "content-type": "application/json" } });
  const r = await postChat(app, { model: "openai-main/gpt-4o-mini", messages: [{ role: "user", content: "hi" }], logprobs: true });
  console.log("== nonstream refusal", r.body);
  await app.close();
});
