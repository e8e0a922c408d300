// Command streamrun creates an assistant with a function tool and a thread, streams a run over gRPC and
// answers the function call.
//
//	PYGENTIC_GRPC=127.0.0.1:50051 go run ./examples/streamrun [model] [question]
//
// PYGENTIC_API_KEY is sent when the server requires keys. The answer is printed to stderr as it streams,
// then one JSON line to stdout: {"thread_id", "run_id", "status", "events", "text", "calls"}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/pygentic/pygentic/clients/go/pygenticv1"
)

type result struct {
	ThreadID string              `json:"thread_id"`
	RunID    string              `json:"run_id"`
	Status   string              `json:"status"`
	Events   []string            `json:"events"`
	Text     string              `json:"text"`
	Calls    []map[string]string `json:"calls"`
}

// getWeather is the function the model calls (a real program would ask a weather service).
func getWeather(arguments string, out *result) (string, error) {
	var args struct {
		City string `json:"city"`
	}
	if err := json.Unmarshal([]byte(arguments), &args); err != nil {
		return "", fmt.Errorf("get_weather arguments %q: %w", arguments, err)
	}
	out.Calls = append(out.Calls, map[string]string{"city": args.City})
	answer, err := json.Marshal(map[string]any{"city": args.City, "temperature_c": 21, "sky": "clear"})
	return string(answer), err
}

// follow reads a run's stream to its end; it returns the run as the last event showed it.
func follow(stream pb.Runs_StreamRunClient, out *result) (*pb.Run, error) {
	var run *pb.Run
	for {
		event, err := stream.Recv()
		if err == io.EOF {
			return run, nil
		}
		if err != nil {
			return nil, err
		}
		out.Events = append(out.Events, event.GetEvent())
		if r := event.GetRun(); r != nil {
			run = r
		}
		if delta := event.GetMessageDelta(); delta != nil {
			for _, part := range delta.GetDelta().GetContent() {
				text := part.GetText().GetValue()
				out.Text += text
				fmt.Fprint(os.Stderr, text)
			}
		}
	}
}

func main() {
	model, question := "local", "What is the weather in Paris?"
	if len(os.Args) > 1 {
		model = os.Args[1]
	}
	if len(os.Args) > 2 {
		question = os.Args[2]
	}
	target := os.Getenv("PYGENTIC_GRPC")
	if target == "" {
		target = "127.0.0.1:50051"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if key := os.Getenv("PYGENTIC_API_KEY"); key != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	conn, err := grpc.DialContext(ctx, target, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		log.Fatalf("connect to %s: %v", target, err)
	}
	defer conn.Close()
	assistants, threads, runs := pb.NewAssistantsClient(conn), pb.NewThreadsClient(conn), pb.NewRunsClient(conn)

	parameters, err := structpb.NewStruct(map[string]any{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required":   []any{"city"},
	})
	if err != nil {
		log.Fatal(err)
	}
	name, description := "Go client example", "The current weather in a city."
	assistant, err := assistants.CreateAssistant(ctx, &pb.CreateAssistantRequest{
		Model: model,
		Name:  &name,
		Tools: []*pb.Tool{{
			Type:     "function",
			Function: &pb.FunctionDefinition{Name: "get_weather", Description: &description, Parameters: parameters},
		}},
	})
	if err != nil {
		log.Fatalf("create assistant: %v", err)
	}
	// A message's content is a google.protobuf.Value: a string, or a list of content parts.
	thread, err := threads.CreateThread(ctx, &pb.CreateThreadRequest{
		Messages: []*pb.MessageInput{{Role: "user", Content: structpb.NewStringValue(question)}},
	})
	if err != nil {
		log.Fatalf("create thread: %v", err)
	}

	out := &result{ThreadID: thread.GetId(), Events: []string{}, Calls: []map[string]string{}}
	stream, err := runs.StreamRun(ctx, &pb.CreateRunRequest{ThreadId: thread.GetId(), AssistantId: assistant.GetId()})
	if err != nil {
		log.Fatalf("stream run: %v", err)
	}
	run, err := follow(stream, out)
	for err == nil && run.GetStatus() == "requires_action" {
		var outputs []*pb.ToolOutput
		for _, call := range run.GetRequiredAction().GetSubmitToolOutputs().GetToolCalls() {
			if call.GetFunction().GetName() != "get_weather" {
				log.Fatalf("the model called an unknown function %q", call.GetFunction().GetName())
			}
			answer, callErr := getWeather(call.GetFunction().GetArguments(), out)
			if callErr != nil {
				log.Fatal(callErr)
			}
			outputs = append(outputs, &pb.ToolOutput{ToolCallId: call.GetId(), Output: answer})
		}
		next, submitErr := runs.StreamSubmitToolOutputs(ctx, &pb.SubmitToolOutputsRequest{
			ThreadId: thread.GetId(), RunId: run.GetId(), ToolOutputs: outputs,
		})
		if submitErr != nil {
			log.Fatalf("submit tool outputs: %v", submitErr)
		}
		run, err = follow(next, out)
	}
	if err != nil {
		log.Fatalf("run stream: %v", err)
	}
	fmt.Fprintln(os.Stderr)
	out.RunID, out.Status = run.GetId(), run.GetStatus()
	line, err := json.Marshal(out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(line))
}
