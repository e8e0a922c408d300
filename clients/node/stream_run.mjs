// Create an assistant, a thread and a message, then stream a run with the official `openai` Node SDK.
//   npm install openai@6
//   OPENAI_BASE_URL=http://127.0.0.1:8000/v1 node stream_run.mjs [model] [question]
// Prints one JSON line: {"thread_id", "run_id", "status", "text"}.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY || "not-needed" });
const model = process.argv[2] || "local";
const question = process.argv[3] || "What is the capital of France?";

const assistant = await client.beta.assistants.create({ model, name: "Node example" });
const thread = await client.beta.threads.create();
await client.beta.threads.messages.create(thread.id, { role: "user", content: question });

let text = "";
const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id });
stream.on("textDelta", (delta) => { text += delta.value ?? ""; });
const run = await stream.finalRun();
console.log(JSON.stringify({ thread_id: thread.id, run_id: run.id, status: run.status, text }));
