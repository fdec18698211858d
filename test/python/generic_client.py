"""Switchyard through grpcio's generic API, run by test/e2e/python-generic-grpc.test.ts.

Another team's way in: message classes from plain `protoc --python_out` (no grpc plugin, no
generated stubs), methods called by name with channel.unary_unary / unary_stream.

    /usr/bin/python3 test/python/generic_client.py --gen DIR --target 127.0.0.1:PORT --key KEY \
        --models a,b,c [--authority HOST]

Prints one JSON object: for each model, the Chat and ChatStream outcome (status code, message,
the ErrorDetail decoded from grpc-status-details-bin, x-switchyard-* metadata, event kinds), and
the ListModels outcome.
"""
import argparse
import json
import sys

from rpc_status import status_class


def main():
    """Runs the calls and prints the report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--gen", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--key", default="")
    parser.add_argument("--models", required=True)
    parser.add_argument("--authority", default="")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    sys.path.insert(0, args.gen)
    import grpc
    from switchyard.v1 import chat_pb2, chat_service_pb2, error_pb2, model_service_pb2
    Status = status_class()

    def outcome_of_error(error):
        out = {"code": error.code().name, "message": error.details(), "details": [], "metadata": {}}
        for key, value in error.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = Status()
                status.ParseFromString(value)
                out["status_code"] = status.code
                for packed in status.details:
                    detail = error_pb2.ErrorDetail()
                    if packed.Unpack(detail):
                        out["details"].append({"reason": detail.reason, "param": detail.param, "provider": detail.provider, "upstream_status": detail.upstream_status, "retry_after_ms": detail.retry_after_ms})
            elif key.startswith("x-switchyard") or key == "retry-after":
                out["metadata"][key] = value
        return out

    def sy(pairs):
        return {k: v for k, v in (pairs or ()) if k.startswith("x-switchyard")}

    options = [("grpc.default_authority", args.authority)] if args.authority else []
    metadata = (("authorization", "Bearer " + args.key),) if args.key else ()
    out = {"grpcio": grpc.__version__, "calls": {}}
    with grpc.insecure_channel(args.target, options=options) as channel:
        chat = channel.unary_unary("/switchyard.v1.ChatService/Chat", request_serializer=chat_service_pb2.ChatRequest.SerializeToString, response_deserializer=chat_service_pb2.ChatResponse.FromString)
        stream = channel.unary_stream("/switchyard.v1.ChatService/ChatStream", request_serializer=chat_service_pb2.ChatStreamRequest.SerializeToString, response_deserializer=chat_service_pb2.ChatStreamResponse.FromString)
        list_models = channel.unary_unary("/switchyard.v1.ModelService/ListModels", request_serializer=model_service_pb2.ListModelsRequest.SerializeToString, response_deserializer=model_service_pb2.ListModelsResponse.FromString)
        for model in args.models.split(","):
            chat_input = chat_pb2.ChatInput(model=model, messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text="hi")])])
            row = {}
            try:
                response, call = chat.with_call(chat_service_pb2.ChatRequest(input=chat_input), metadata=metadata, timeout=args.timeout)
                row["chat"] = {"code": "OK", "model": response.model, "metadata": sy(call.initial_metadata())}
            except grpc.RpcError as error:
                row["chat"] = outcome_of_error(error)
            call = stream(chat_service_pb2.ChatStreamRequest(input=chat_input), metadata=metadata, timeout=args.timeout)
            kinds = []
            try:
                for event in call:
                    kind = event.WhichOneof("event")
                    if not kinds or kinds[-1] != kind:
                        kinds.append(kind)
                row["stream"] = {"code": "OK", "kinds": kinds, "metadata": {**sy(call.initial_metadata()), **sy(call.trailing_metadata())}}
            except grpc.RpcError as error:
                row["stream"] = {**outcome_of_error(error), "kinds": kinds}
            out["calls"][model] = row
        try:
            response = list_models(model_service_pb2.ListModelsRequest(), metadata=metadata, timeout=args.timeout)
            out["list_models"] = {"code": "OK", "ids": [m.id for m in response.models]}
        except grpc.RpcError as error:
            out["list_models"] = outcome_of_error(error)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
