"""A Python grpcio client of the Switchyard gateway, run by test/e2e/python-grpc.test.ts.

It uses stubs generated from proto/ with protoc + grpc_python_plugin (see buf.gen.python.yaml)
and prints one JSON object describing what it saw, so the test can assert on it:

    /usr/bin/python3 test/python/client.py --gen DIR --target 127.0.0.1:PORT --key KEY --model MODEL

Steps: unary Chat; a streamed ChatStream read to the end; a ChatStream cancelled after its first
text delta (call.cancel()); a call without the key; a call for an unknown model (with the
ErrorDetail decoded from grpc-status-details-bin); a call the provider refuses with a very long
message.
"""

import argparse
import json
import sys

from rpc_status import status_class


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gen", required=True, help="directory holding the generated switchyard/v1 modules")
    parser.add_argument("--target", required=True, help="host:port of the gateway")
    parser.add_argument("--key", required=True, help="gateway API key")
    parser.add_argument("--model", required=True, help="model id, e.g. openai-main/gpt-4o-mini")
    parser.add_argument("--timeout", type=float, default=15.0, help="deadline of each call, in seconds")
    return parser.parse_args()


def error_details(error, error_pb2):
    """The ErrorDetail messages carried in an RpcError's grpc-status-details-bin trailer."""
    details = []
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_class()()
        status.ParseFromString(value)
        for packed in status.details:
            detail = error_pb2.ErrorDetail()
            if packed.Unpack(detail):
                details.append({"reason": detail.reason, "param": detail.param})
    return details


def main():
    args = parse_args()
    sys.path.insert(0, args.gen)
    import grpc
    from switchyard.v1 import chat_pb2, chat_service_pb2, chat_service_pb2_grpc, error_pb2

    def chat_input(text, model=args.model):
        return chat_pb2.ChatInput(
            model=model,
            messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=text)])],
            temperature=0.0,
        )

    metadata = (("authorization", "Bearer " + args.key),)
    out = {"grpcio": grpc.__version__}
    with grpc.insecure_channel(args.target) as channel:
        stub = chat_service_pb2_grpc.ChatServiceStub(channel)

        request = chat_service_pb2.ChatRequest(input=chat_input("Invent a holiday."))
        out["temperature_has_presence"] = request.input.HasField("temperature")
        response = stub.Chat(request, metadata=metadata, timeout=args.timeout)
        choice = response.choices[0]
        out["unary"] = {
            "model": response.model,
            "provider": response.provider,
            "text": "".join(part.text for part in choice.message.content if part.WhichOneof("part") == "text"),
            "finish_reason": chat_pb2.FinishReason.Name(choice.finish_reason),
            "usage": [response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens],
        }

        kinds, text, usage, summary_model = [], "", None, None
        for event in stub.ChatStream(chat_service_pb2.ChatStreamRequest(input=chat_input("Capital of the UK?")), metadata=metadata, timeout=args.timeout):
            kind = event.WhichOneof("event")
            if not kinds or kinds[-1] != kind:
                kinds.append(kind)
            if kind == "text_delta":
                text += event.text_delta.text
            elif kind == "usage":
                usage = [event.usage.prompt_tokens, event.usage.completion_tokens, event.usage.total_tokens]
            elif kind == "route_summary":
                summary_model = event.route_summary.model
        out["stream"] = {"kinds": kinds, "text": text, "usage": usage, "route_model": summary_model}

        call = stub.ChatStream(chat_service_pb2.ChatStreamRequest(input=chat_input("Count")), metadata=metadata, timeout=args.timeout)
        deltas = 0
        cancel = {"deltas_before_cancel": 0, "code": None}
        try:
            for event in call:
                if event.WhichOneof("event") == "text_delta":
                    deltas += 1
                    cancel["deltas_before_cancel"] = deltas
                    call.cancel()
        except grpc.RpcError as error:
            cancel["code"] = error.code().name
        out["cancel"] = cancel

        try:
            stub.Chat(chat_service_pb2.ChatRequest(input=chat_input("hi")), timeout=args.timeout)
            out["no_key"] = {"code": "OK"}
        except grpc.RpcError as error:
            out["no_key"] = {"code": error.code().name}

        try:
            stub.Chat(chat_service_pb2.ChatRequest(input=chat_input("hi", model="no-such-account/x")), metadata=metadata, timeout=args.timeout)
            out["unknown_model"] = {"code": "OK"}
        except grpc.RpcError as error:
            out["unknown_model"] = {"code": error.code().name, "details": error_details(error, error_pb2)}

        # The upstream answers this one with a 400 whose message is thousands of characters long.
        try:
            stub.Chat(chat_service_pb2.ChatRequest(input=chat_input("Use the tool.")), metadata=metadata, timeout=args.timeout)
            out["long_error"] = {"code": "OK"}
        except grpc.RpcError as error:
            out["long_error"] = {"code": error.code().name, "message_bytes": len((error.details() or "").encode("utf-8")), "message_start": (error.details() or "")[:40], "details": error_details(error, error_pb2)}

    print(json.dumps(out))


if __name__ == "__main__":
    main()
