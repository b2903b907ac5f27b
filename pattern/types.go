package pattern

// This file holds the static types the checker gives expressions when event
// types are declared (language.md §3.4). A value of kind kindAny is untyped:
// it comes from an undeclared event, a stage of type any, or a member of an
// object, and is never a type error.

// kind is the static kind of a value.
type kind uint8

const (
	kindAny kind = iota
	kindNull
	kindNumber // number and int
	kindString
	kindBool
	kindTime
	kindDuration
	kindList
	kindObject
	kindEvent // one event of a stage: first(s), last(s), s[i], or a single stage's name
)

var kindNames = [...]string{"any", "null", "number", "string", "bool", "time", "duration", "list", "object", "event"}

// typ is the static type of an expression.
type typ struct {
	kind  kind
	event *EventDecl // for kindEvent: the declared event type; nil when untyped
}

var (
	tAny      = typ{kind: kindAny}
	tNull     = typ{kind: kindNull}
	tNumber   = typ{kind: kindNumber}
	tString   = typ{kind: kindString}
	tBool     = typ{kind: kindBool}
	tTime     = typ{kind: kindTime}
	tDuration = typ{kind: kindDuration}
	tList     = typ{kind: kindList}
	tObject   = typ{kind: kindObject}
)

func (t typ) String() string {
	if t.kind == kindEvent && t.event != nil {
		return "event " + t.event.Name.Name
	}
	if int(t.kind) < len(kindNames) {
		return kindNames[t.kind]
	}
	return "?"
}

// loose reports whether t is untyped or null: such a value is accepted
// wherever a typed value is (null reads as false, or propagates as null).
func (t typ) loose() bool { return t.kind == kindAny || t.kind == kindNull }

// fixedAttrs are the attributes every event has (language.md §2).
var fixedAttrs = map[string]typ{"time": tTime, "type": tString, "id": tString}

// fieldType returns the type of a declared field type name (one of TypeNames).
func fieldType(name string) (typ, bool) {
	switch name {
	case "string":
		return tString, true
	case "number", "int":
		return tNumber, true
	case "bool":
		return tBool, true
	case "time":
		return tTime, true
	case "duration":
		return tDuration, true
	case "list":
		return tList, true
	case "object":
		return tObject, true
	case "any":
		return tAny, true
	}
	return tAny, false
}

// lookupField returns the declared field name of e, or nil.
func lookupField(e *EventDecl, name string) *FieldDecl {
	if e == nil {
		return nil
	}
	for _, f := range e.Fields {
		if f != nil && f.Name.Name == name {
			return f
		}
	}
	return nil
}

// fieldNames returns the field names of e followed by the fixed attributes.
func fieldNames(e *EventDecl) []string {
	var names []string
	if e != nil {
		for _, f := range e.Fields {
			if f != nil {
				names = append(names, f.Name.Name)
			}
		}
	}
	return append(names, "time", "type", "id")
}

// equatable reports whether == and != may compare values of types a and b.
func equatable(a, b typ) bool {
	if a.loose() || b.loose() {
		return true
	}
	return a.kind == b.kind
}

// orderable reports whether < <= > >= may compare values of types a and b.
func orderable(a, b typ) bool {
	if a.kind == kindNull || b.kind == kindNull {
		return false
	}
	if a.kind == kindAny || b.kind == kindAny {
		return true
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case kindNumber, kindString, kindTime, kindDuration:
		return true
	}
	return false
}

// arith returns the type of `a op b` for an arithmetic operator, and false
// when the operands do not support it.
func arith(op BinOp, a, b typ) (typ, bool) {
	if a.loose() || b.loose() {
		// any + number could still be a duration or a time: stay untyped.
		return tAny, arithOperand(a) && arithOperand(b)
	}
	ka, kb := a.kind, b.kind
	switch {
	case ka == kindNumber && kb == kindNumber:
		return tNumber, true
	case ka == kindTime && kb == kindTime && op == BinSub:
		return tDuration, true
	case ka == kindTime && kb == kindDuration && (op == BinAdd || op == BinSub):
		return tTime, true
	case ka == kindDuration && kb == kindTime && op == BinAdd:
		return tTime, true
	case ka == kindDuration && kb == kindDuration && (op == BinAdd || op == BinSub):
		return tDuration, true
	case ka == kindDuration && kb == kindDuration && op == BinDiv:
		return tNumber, true
	case ka == kindDuration && kb == kindNumber && (op == BinMul || op == BinDiv):
		return tDuration, true
	case ka == kindNumber && kb == kindDuration && op == BinMul:
		return tDuration, true
	}
	return tAny, false
}

// arithOperand reports whether a value of type t can take part in some
// arithmetic at all.
func arithOperand(t typ) bool {
	switch t.kind {
	case kindAny, kindNull, kindNumber, kindTime, kindDuration:
		return true
	}
	return false
}
