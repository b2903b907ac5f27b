// Package proto is the home of Motif's public API: the protobuf definitions
// in motif/v1 (package motif.v1), their buf configuration, and the Go code
// generated from them under gen/:
//
//   - gen/motif/v1 (package motifv1): messages, enums, and the grpc-go
//     clients and servers (*_grpc.pb.go);
//   - gen/motif/v1/motifv1connect: the Connect clients and handlers.
//
// This package has no code of its own. Its tests check what buf does not:
// that every service has exactly the methods the API promises, in every
// generated flavour; that every declaration carries a comment; that the
// generated code matches the .proto files; that the Alert message mirrors the
// JSON alert of language.md §4; and that the generator and the runtime
// versions agree. README.md says how to regenerate and how the
// breaking-change check works.
package proto

//go:generate bash generate.sh
