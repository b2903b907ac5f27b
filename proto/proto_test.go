package proto

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/motifcep/motif/alert"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
	"github.com/motifcep/motif/proto/gen/motif/v1/motifv1connect"
)

const protoPackage = "motif.v1"

// streaming says which side of a method streams.
type streaming int

const (
	unary streaming = iota
	serverStream
	bidiStream
)

// wantMethods is the API's promise: every service and its methods.
var wantMethods = map[string][]struct {
	name string
	kind streaming
}{
	"PatternService": {
		{"ValidatePatterns", unary},
		{"ApplyPatterns", unary},
		{"ListPatterns", unary},
		{"GetPattern", unary},
		{"DeletePattern", unary},
	},
	"IngestService": {
		{"Publish", unary},
		{"PublishStream", bidiStream},
	},
	"AlertService": {
		{"SubscribeAlerts", serverStream},
		{"ListAlerts", unary},
	},
	"AdminService": {
		{"GetStatus", unary},
		{"CreateCheckpoint", unary},
		{"ListCheckpoints", unary},
		{"DeleteSavepoint", unary},
		{"JoinCluster", unary},
		{"RemoveClusterMember", unary},
		{"ForwardClusterWrite", unary},
	},
}

// files returns the registered descriptors of package motif.v1, by path.
func files(t *testing.T) map[string]protoreflect.FileDescriptor {
	t.Helper()
	_ = motifv1.File_motif_v1_alert_proto // registers the package's files
	out := map[string]protoreflect.FileDescriptor{}
	protoregistry.GlobalFiles.RangeFilesByPackage(protoPackage, func(f protoreflect.FileDescriptor) bool {
		out[f.Path()] = f
		return true
	})
	if len(out) == 0 {
		t.Fatal("no file of package motif.v1 is registered")
	}
	return out
}

func TestServicesHaveTheirMethods(t *testing.T) {
	got := map[string]protoreflect.ServiceDescriptor{}
	for _, f := range files(t) {
		for i := range f.Services().Len() {
			s := f.Services().Get(i)
			got[string(s.Name())] = s
		}
	}
	for name := range got {
		if _, ok := wantMethods[name]; !ok {
			t.Errorf("service %s is not in wantMethods: add it to the test with its methods", name)
		}
	}
	for svc, methods := range wantMethods {
		sd, ok := got[svc]
		if !ok {
			t.Errorf("service %s is missing", svc)
			continue
		}
		var gotNames, wantNames []string
		for i := range sd.Methods().Len() {
			gotNames = append(gotNames, string(sd.Methods().Get(i).Name()))
		}
		for _, m := range methods {
			wantNames = append(wantNames, m.name)
			md := sd.Methods().ByName(protoreflect.Name(m.name))
			if md == nil {
				continue
			}
			kind := unary
			switch {
			case md.IsStreamingClient() && md.IsStreamingServer():
				kind = bidiStream
			case md.IsStreamingServer():
				kind = serverStream
			case md.IsStreamingClient():
				kind = -1 // client streaming: the API has none
			}
			if kind != m.kind {
				t.Errorf("%s.%s: streaming kind %d, want %d", svc, m.name, kind, m.kind)
			}
			if in, out := string(md.Input().Name()), string(md.Output().Name()); in != m.name+"Request" || out != m.name+"Response" {
				t.Errorf("%s.%s takes %s and returns %s, want %sRequest and %sResponse", svc, m.name, in, out, m.name, m.name)
			}
		}
		if !slices.Equal(gotNames, wantNames) {
			t.Errorf("%s methods = %v, want %v", svc, gotNames, wantNames)
		}
	}
}

// The grpc-go and Connect code must name the same methods as the descriptors.
func TestGeneratedStubsAgree(t *testing.T) {
	grpcDescs := map[string]grpc.ServiceDesc{
		"PatternService": motifv1.PatternService_ServiceDesc,
		"IngestService":  motifv1.IngestService_ServiceDesc,
		"AlertService":   motifv1.AlertService_ServiceDesc,
		"AdminService":   motifv1.AdminService_ServiceDesc,
	}
	connectNames := map[string]string{
		"PatternService": motifv1connect.PatternServiceName,
		"IngestService":  motifv1connect.IngestServiceName,
		"AlertService":   motifv1connect.AlertServiceName,
		"AdminService":   motifv1connect.AdminServiceName,
	}
	for svc, methods := range wantMethods {
		if got, want := connectNames[svc], protoPackage+"."+svc; got != want {
			t.Errorf("Connect name of %s = %q, want %q", svc, got, want)
		}
		d, ok := grpcDescs[svc]
		if !ok {
			t.Errorf("no grpc-go ServiceDesc for %s in the test", svc)
			continue
		}
		if want := protoPackage + "." + svc; d.ServiceName != want {
			t.Errorf("grpc-go ServiceName = %q, want %q", d.ServiceName, want)
		}
		var got []string
		for _, m := range d.Methods {
			got = append(got, m.MethodName)
		}
		for _, s := range d.Streams {
			got = append(got, s.StreamName)
		}
		var want []string
		for _, m := range methods {
			want = append(want, m.name)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("grpc-go methods of %s = %v, want %v", svc, got, want)
		}
	}
}

// decl is one declaration found in a .proto file.
type decl struct {
	where     string // file:line
	commented bool   // a // comment is on the line right above it
}

var (
	reBlock = regexp.MustCompile(`^(message|enum|service|oneof) (\w+) \{(\})?$`)
	reRPC   = regexp.MustCompile(`^rpc (\w+)\(.*\)( \{|;)$`)
	reField = regexp.MustCompile(`^(?:repeated |optional )?(?:[\w.]+|map<[\w.]+, ?[\w.]+>) (\w+) = \d+(?: \[.*\])?;$`)
	reValue = regexp.MustCompile(`^([A-Z][A-Z0-9_]*) = -?\d+(?: \[.*\])?;$`)
)

// scope is a block of a .proto file being scanned.
type scope struct {
	name string // full name of a message, enum or service; "" for a oneof or an rpc's options
	kind string // "package", "message", "enum", "service", "oneof" or "rpc"
}

// scanner finds the declarations of .proto files written one per line, as
// buf format writes them, by full name. Enum values are named
// ENUM_FULL_NAME.VALUE rather than by protobuf's sibling scoping.
type scanner struct {
	t     *testing.T
	found map[string]decl
}

func (s *scanner) scan(path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatal(err)
	}
	stack := []scope{{protoPackage, "package"}}
	prevComment := false
	lines := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; lines.Scan(); n++ {
		line := strings.TrimSpace(lines.Text())
		comment := strings.HasPrefix(line, "//")
		switch {
		case comment || line == "" || hasAnyPrefix(line, "syntax ", "package ", "import ", "option ", "reserved "):
		case line == "}":
			if len(stack) == 1 {
				s.t.Fatalf("%s:%d: unbalanced }", path, n)
			}
			stack = stack[:len(stack)-1]
		default:
			where := path + ":" + strconv.Itoa(n)
			if !s.declare(&stack, line, decl{where, prevComment}) {
				s.t.Errorf("%s: the test cannot read %q: write one declaration per line, as buf format does", where, line)
			}
		}
		prevComment = comment
	}
	if len(stack) != 1 {
		s.t.Errorf("%s: unbalanced braces", path)
	}
}

// declare records the declaration on line, if it is one, and opens its block.
func (s *scanner) declare(stack *[]scope, line string, d decl) bool {
	in := (*stack)[0]
	for _, sc := range *stack {
		if sc.name != "" {
			in = sc
		}
	}
	if m := reBlock.FindStringSubmatch(line); m != nil {
		kind, full := m[1], in.name+"."+m[2]
		s.add(full, d)
		if m[3] == "" { // not an empty block "{}"
			if kind == "oneof" {
				full = "" // its fields belong to the message
			}
			*stack = append(*stack, scope{full, kind})
		}
		return true
	}
	if m := reRPC.FindStringSubmatch(line); m != nil && in.kind == "service" {
		s.add(in.name+"."+m[1], d)
		if m[2] == " {" {
			*stack = append(*stack, scope{"", "rpc"})
		}
		return true
	}
	if m := reField.FindStringSubmatch(line); m != nil && in.kind == "message" {
		s.add(in.name+"."+m[1], d)
		return true
	}
	if m := reValue.FindStringSubmatch(line); m != nil && in.kind == "enum" {
		s.add(in.name+"."+m[1], d)
		return true
	}
	return false
}

func (s *scanner) add(name string, d decl) {
	if prev, dup := s.found[name]; dup {
		s.t.Errorf("%s: %s already declared at %s", d.where, name, prev.where)
	}
	s.found[name] = d
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// described lists every declaration of a file descriptor that must carry a
// comment, named as scanProto names them.
func described(f protoreflect.FileDescriptor) []string {
	var out []string
	var enums func(protoreflect.EnumDescriptors)
	enums = func(es protoreflect.EnumDescriptors) {
		for i := range es.Len() {
			e := es.Get(i)
			out = append(out, string(e.FullName()))
			for j := range e.Values().Len() {
				out = append(out, string(e.FullName())+"."+string(e.Values().Get(j).Name()))
			}
		}
	}
	var messages func(protoreflect.MessageDescriptors)
	messages = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			m := ms.Get(i)
			if m.IsMapEntry() {
				continue
			}
			out = append(out, string(m.FullName()))
			for j := range m.Fields().Len() {
				out = append(out, string(m.Fields().Get(j).FullName()))
			}
			for j := range m.Oneofs().Len() {
				if o := m.Oneofs().Get(j); !o.IsSynthetic() {
					out = append(out, string(o.FullName()))
				}
			}
			enums(m.Enums())
			messages(m.Messages())
		}
	}
	messages(f.Messages())
	enums(f.Enums())
	for i := range f.Services().Len() {
		s := f.Services().Get(i)
		out = append(out, string(s.FullName()))
		for j := range s.Methods().Len() {
			out = append(out, string(s.Methods().Get(j).FullName()))
		}
	}
	return out
}

// Every service, method, message, field, oneof, enum and enum value has a
// leading comment, and the .proto files and the generated descriptors declare
// the same things (the generated code is not stale).
func TestEveryDeclarationIsDocumented(t *testing.T) {
	paths, err := filepath.Glob("motif/v1/*.proto")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .proto file in motif/v1 (%v)", err)
	}
	regd := files(t)
	sc := scanner{t: t, found: map[string]decl{}}
	for _, p := range paths {
		if _, ok := regd[p]; !ok {
			t.Errorf("%s has no generated code: run proto/generate.sh", p)
		}
		sc.scan(p)
	}
	found := sc.found
	seen := map[string]bool{}
	for path, f := range regd {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("generated code for %s, which does not exist: run proto/generate.sh", path)
		}
		for _, name := range described(f) {
			seen[name] = true
			d, ok := found[name]
			switch {
			case !ok:
				t.Errorf("%s (%s) is not in the .proto files: run proto/generate.sh", name, path)
			case !d.commented:
				t.Errorf("%s: %s has no leading comment", d.where, name)
			}
		}
	}
	for name, d := range found {
		if !seen[name] {
			t.Errorf("%s: %s is not in the generated code: run proto/generate.sh", d.where, name)
		}
	}
	if len(seen) < 100 {
		t.Errorf("only %d declarations checked: the scan is broken", len(seen))
	}
}

// The Alert message carries the keys of the JSON alert (language.md §4), in
// the same order, plus json.
func TestAlertMirrorsJSON(t *testing.T) {
	a := alert.Alert{
		ID: "x", Pattern: "p", Version: 1, Kind: alert.KindMatch, Key: []string{"k"},
		Severity: "high", Message: "m",
		Events: []alert.StageEvents{{Stage: "s", IDs: []string{"e1"}}},
		Start:  1, End: 2, DetectedAt: 3,
	}
	keys, err := objectKeys(a.AppendJSON(nil))
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	fd := (&motifv1.Alert{}).ProtoReflect().Descriptor().Fields()
	for i := range fd.Len() {
		if name := string(fd.Get(i).Name()); name != "json" {
			fields = append(fields, name)
		}
	}
	if !slices.Equal(fields, keys) {
		t.Errorf("Alert fields = %v\nJSON alert keys = %v", fields, keys)
	}
}

// objectKeys returns the keys of a JSON object in order.
func objectKeys(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// The generated code needs the runtime it was generated for: the versions
// of protobuf and Connect in the tools module, which generates, and in the
// main module, which runs the code, must agree.
func TestGeneratorMatchesRuntime(t *testing.T) {
	for _, mod := range []string{"google.golang.org/protobuf", "connectrpc.com/connect"} {
		run, gen := requireVersion(t, "../go.mod", mod), requireVersion(t, "../internal/tools/go.mod", mod)
		if run != gen {
			t.Errorf("%s: %s in go.mod but %s in internal/tools/go.mod: make them equal and run proto/generate.sh", mod, run, gen)
		}
	}
	header, err := os.ReadFile("gen/motif/v1/alert.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	want := "protoc-gen-go " + requireVersion(t, "../internal/tools/go.mod", "google.golang.org/protobuf") + "\n"
	if !bytes.Contains(header, []byte(want)) {
		t.Errorf("gen/motif/v1/alert.pb.go was not generated by %q: run proto/generate.sh", strings.TrimSpace(want))
	}
}

// requireVersion returns the version of module mod that the go.mod file at
// path requires.
func requireVersion(t *testing.T, path, mod string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(?:require )?\s*` + regexp.QuoteMeta(mod) + ` (v\S+)`)
	m := re.FindSubmatch(src)
	if m == nil {
		t.Fatalf("%s requires no %s", path, mod)
	}
	return string(m[1])
}
