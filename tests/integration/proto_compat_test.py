#!/usr/bin/python3
"""keel's .proto files against etcd's: every service, method, message, field and enum value that
the etcd-generated descriptors shipped with python3-etcd3 define must exist in keel's with the same
name, number, type, label and streaming. keel may define more (newer etcd fields).

Usage: proto_compat_test.py <keel descriptor set>
"""
import sys

from google.protobuf import descriptor_pb2
from etcd3.etcdrpc import auth_pb2, kv_pb2, rpc_pb2


def keel_index(path):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as f:
        fds.ParseFromString(f.read())
    messages, enums, services = {}, {}, {}

    def walk(prefix, msgs, ens):
        for e in ens:
            enums[prefix + e.name] = e
        for m in msgs:
            messages[prefix + m.name] = m
            walk(prefix + m.name + ".", m.nested_type, m.enum_type)

    for f in fds.file:
        walk(f.package + ".", f.message_type, f.enum_type)
        for s in f.service:
            services[f.package + "." + s.name] = s
    return messages, enums, services


def main():
    messages, enums, services = keel_index(sys.argv[1])
    failures = []
    checked = 0

    def check_enum(ref):
        nonlocal checked
        ours = enums.get(ref.full_name)
        if ours is None:
            failures.append("enum %s is missing" % ref.full_name)
            return
        have = {v.name: v.number for v in ours.value}
        for v in ref.values:
            checked += 1
            if have.get(v.name) != v.number:
                failures.append("enum %s.%s: etcd %d, keel %s" % (ref.full_name, v.name, v.number, have.get(v.name)))

    def check_message(ref):
        nonlocal checked
        ours = messages.get(ref.full_name)
        if ours is None:
            failures.append("message %s is missing" % ref.full_name)
            return
        fields = {f.number: f for f in ours.field}
        for f in ref.fields:
            checked += 1
            mine = fields.get(f.number)
            if mine is None:
                failures.append("%s: field %d (%s) is missing" % (ref.full_name, f.number, f.name))
                continue
            type_name = mine.type_name.lstrip(".")
            ref_type = (f.message_type or f.enum_type)
            # etcd 3.3 declared some keys `string` that 3.4 made `bytes`: the same bytes on the
            # wire, and bytes accepts everything a string does (not the other way round).
            same_type = mine.type == f.type or (f.type == f.TYPE_STRING and mine.type == mine.TYPE_BYTES)
            if mine.name != f.name or not same_type or mine.label != f.label or \
                    (ref_type is not None and type_name != ref_type.full_name):
                failures.append("%s field %d: etcd %s %s %s, keel %s %s %s" % (
                    ref.full_name, f.number, f.name, f.type, ref_type.full_name if ref_type else "",
                    mine.name, mine.type, type_name))
        for e in ref.enum_types:
            check_enum(e)
        for n in ref.nested_types:
            check_message(n)

    for module in (kv_pb2, auth_pb2, rpc_pb2):
        for m in module.DESCRIPTOR.message_types_by_name.values():
            check_message(m)
        for e in module.DESCRIPTOR.enum_types_by_name.values():
            check_enum(e)
    for s in rpc_pb2.DESCRIPTOR.services_by_name.values():
        ours = services.get(s.full_name)
        if ours is None:
            failures.append("service %s is missing" % s.full_name)
            continue
        methods = {m.name: m for m in ours.method}
        for m in s.methods:
            checked += 1
            mine = methods.get(m.name)
            if mine is None:
                failures.append("method /%s/%s is missing" % (s.full_name, m.name))
            elif mine.input_type.lstrip(".") != m.input_type.full_name or \
                    mine.output_type.lstrip(".") != m.output_type.full_name:
                failures.append("method /%s/%s has other types" % (s.full_name, m.name))
            elif hasattr(m, "client_streaming") and (mine.client_streaming != m.client_streaming or
                                                      mine.server_streaming != m.server_streaming):
                failures.append("method /%s/%s streams differently" % (s.full_name, m.name))

    for f in failures:
        print("FAIL", f)
    print("%d passed, %d failed" % (checked - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
