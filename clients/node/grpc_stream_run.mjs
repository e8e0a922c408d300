// Stream a run over gRPC from Node with @grpc/grpc-js, loading the contract from protos/ at run time.
//   npm install @grpc/grpc-js @grpc/proto-loader
//   PYGENTIC_GRPC=127.0.0.1:50051 node grpc_stream_run.mjs [model] [question]
// Prints one JSON line: {"thread_id", "run_id", "events": [...names], "text"}.
import path from "node:path";
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const here = path.dirname(fileURLToPath(import.meta.url));
const protos = process.env.PYGENTIC_PROTOS || path.resolve(here, "../../protos");
const target = process.env.PYGENTIC_GRPC || "127.0.0.1:50051";
const model = process.argv[2] || "local";
const question = process.argv[3] || "What is the capital of France?";

const definition = protoLoader.loadSync(
  ["pygentic/v1/assistants.proto", "pygentic/v1/threads.proto", "pygentic/v1/runs.proto"],
  { includeDirs: [protos], keepCase: true, longs: Number, defaults: false, oneofs: true },
);
const v1 = grpc.loadPackageDefinition(definition).pygentic.v1;
const credentials = grpc.credentials.createInsecure();
const assistants = new v1.Assistants(target, credentials);
const threads = new v1.Threads(target, credentials);
const runs = new v1.Runs(target, credentials);
const call = (client, method, request) =>
  new Promise((resolve, reject) => client[method](request, (error, reply) => (error ? reject(error) : resolve(reply))));

const assistant = await call(assistants, "CreateAssistant", { model, name: "Node gRPC example" });
// A google.protobuf.Value holding a string (protobufjs names well-known-type fields in camelCase).
const text = { stringValue: question };
const thread = await call(threads, "CreateThread", { messages: [{ role: "user", content: text }] });

const events = [];
let answer = "";
let runId = null;
await new Promise((resolve, reject) => {
  const stream = runs.StreamRun({ thread_id: thread.id, assistant_id: assistant.id });
  stream.on("data", (event) => {
    events.push(event.event);
    if (event.event === "thread.run.created") runId = event.run.id;
    if (event.event === "thread.message.delta") {
      for (const part of event.message_delta.delta.content) answer += part.text?.value ?? "";
    }
  });
  stream.on("error", reject);
  stream.on("end", resolve);
});
console.log(JSON.stringify({ thread_id: thread.id, run_id: runId, events, text: answer }));
