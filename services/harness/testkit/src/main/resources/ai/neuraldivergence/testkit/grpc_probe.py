#!/usr/bin/env python3
"""A gRPC client that is not ours: Debian's python3-grpcio, speaking server reflection and health by hand.

Usage: grpc_probe.py HOST:PORT SERVICE
Prints one JSON object: the services the server lists, the methods of SERVICE read from its file descriptor,
and the standard health service's answer. Exits 1 on any gRPC error.
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2


def varint(value):
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def field(number, payload):
    """A length-delimited field (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def fields(data):
    """Yields (number, value) of a serialized message; value is bytes for wire type 2, int for varints."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            length, i = read_varint(data, i)
            value, i = data[i:i + length], i + length
        else:
            raise ValueError("unexpected wire type %d" % wire)
        yield number, value


def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def reflect(channel, request):
    call = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                 request_serializer=lambda b: b, response_deserializer=lambda b: b)
    return next(iter(call(iter([request]), timeout=10)))


def main():
    target, service = sys.argv[1], sys.argv[2]
    with grpc.insecure_channel(target) as channel:
        # ServerReflectionRequest.list_services (field 7) -> ListServiceResponse (field 6)
        services = []
        for number, value in fields(reflect(channel, field(7, b""))):
            if number == 6:
                for n, service_response in fields(value):
                    services.extend(v.decode() for k, v in fields(service_response) if k == 1)
        # file_containing_symbol (field 4) -> FileDescriptorResponse (field 4) of FileDescriptorProto bytes
        methods = []
        for number, value in fields(reflect(channel, field(4, service.encode()))):
            if number == 4:
                for n, proto_bytes in fields(value):
                    file = descriptor_pb2.FileDescriptorProto.FromString(proto_bytes)
                    for s in file.service:
                        if file.package + "." + s.name == service:
                            methods.extend(m.name for m in s.method)
        # grpc.health.v1.Health/Check with the empty service name: the server as a whole
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=lambda b: b, response_deserializer=lambda b: b)
        status = dict(fields(check(b"", timeout=10))).get(1, 0)
        health = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}[status]
    print(json.dumps({"services": sorted(services), "methods": methods, "health": health}))


if __name__ == "__main__":
    import time
    attempts = 5
    for attempt in range(attempts):
        try:
            main()
            break
        except grpc.RpcError as e:
            # UNAVAILABLE is the status gRPC clients retry (a connection closed under it), with backoff: on a
            # loaded machine three tries 0.5 s apart were seen to fail; anything else fails at once
            if e.code() == grpc.StatusCode.UNAVAILABLE and attempt < attempts - 1:
                time.sleep(0.5 * 2 ** attempt)
                continue
            print("gRPC error: %s %s" % (e.code(), e.details()), file=sys.stderr)
            sys.exit(1)
