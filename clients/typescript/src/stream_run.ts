// Create an assistant with a function tool and a thread, stream a run over gRPC and answer the function
// call: protobuf-es types generated from protos/ and a Connect client on its gRPC transport (HTTP/2).
//
//   npm ci && npm run build
//   PYGENTIC_GRPC=127.0.0.1:50051 npm run stream-run -- [model] [question]
//
// PYGENTIC_API_KEY is sent when the server requires keys. The answer is printed to stderr as it streams,
// then one JSON line to stdout: {"thread_id", "run_id", "status", "events", "text", "calls"}.
import { create, fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Assistants } from "./gen/pygentic/v1/assistants_pb.js";
import type { Run } from "./gen/pygentic/v1/resources_pb.js";
import type { RunEvent } from "./gen/pygentic/v1/runs_pb.js";
import { Runs, ToolOutputSchema } from "./gen/pygentic/v1/runs_pb.js";
import { Threads } from "./gen/pygentic/v1/threads_pb.js";

const model = process.argv[2] ?? "local";
const question = process.argv[3] ?? "What is the weather in Paris?";
const target = process.env.PYGENTIC_GRPC ?? "127.0.0.1:50051";
const apiKey = process.env.PYGENTIC_API_KEY;

const transport = createGrpcTransport({
  baseUrl: `http://${target}`,
  interceptors: apiKey
    ? [(next) => (request) => {
        request.header.set("authorization", `Bearer ${apiKey}`);
        return next(request);
      }]
    : [],
});
const assistants = createClient(Assistants, transport);
const threads = createClient(Threads, transport);
const runs = createClient(Runs, transport);

const calls: { city: string }[] = [];
// The function the model calls (a real program would ask a weather service).
function getWeather(argumentsJson: string): string {
  const { city } = JSON.parse(argumentsJson) as { city: string };
  calls.push({ city });
  return JSON.stringify({ city, temperature_c: 21, sky: "clear" });
}

const events: string[] = [];
let text = "";
// Reads a run's stream to its end; the run as the last event showed it.
async function follow(stream: AsyncIterable<RunEvent>): Promise<Run | undefined> {
  let run: Run | undefined;
  for await (const event of stream) {
    events.push(event.event);
    if (event.data.case === "run") run = event.data.value;
    if (event.data.case === "messageDelta") {
      for (const part of event.data.value.delta?.content ?? []) {
        const piece = part.text?.value ?? "";
        text += piece;
        process.stderr.write(piece);
      }
    }
  }
  return run;
}

const assistant = await assistants.createAssistant({
  model,
  name: "TypeScript client example",
  tools: [
    {
      type: "function",
      function: {
        name: "get_weather",
        description: "The current weather in a city.",
        // A google.protobuf.Struct field is a plain JSON object in protobuf-es.
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      },
    },
  ],
});
// A message's content is a google.protobuf.Value (a string, or a list of content parts).
const thread = await threads.createThread({
  messages: [{ role: "user", content: fromJson(ValueSchema, question) }],
});

let run = await follow(runs.streamRun({ threadId: thread.id, assistantId: assistant.id }));
while (run?.status === "requires_action") {
  const toolOutputs = (run.requiredAction?.submitToolOutputs?.toolCalls ?? []).map((call) => {
    if (call.function?.name !== "get_weather") throw new Error(`unknown function ${call.function?.name}`);
    return create(ToolOutputSchema, { toolCallId: call.id, output: getWeather(call.function.arguments) });
  });
  run = await follow(runs.streamSubmitToolOutputs({ threadId: thread.id, runId: run.id, toolOutputs }));
}
process.stderr.write("\n");
console.log(
  JSON.stringify({ thread_id: thread.id, run_id: run?.id, status: run?.status, events, text, calls }),
);
