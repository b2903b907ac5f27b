package event

// Event is one decoded input event. Fields holds the values of the attribute
// paths the loaded patterns read, indexed by the slots of a Schema; the JSON
// itself is not kept.
type Event struct {
	Type   string
	Time   int64  // event time, Unix nanoseconds
	ID     string // as echoed in alerts: the input's id, or the source position
	Seq    uint64 // arrival order within its stream; breaks ties of equal Time
	Fields []Value
}

// Field returns the value in slot i, or null when the event has no such slot.
func (e *Event) Field(i int) Value {
	if i < 0 || i >= len(e.Fields) {
		return Value{}
	}
	return e.Fields[i]
}

// Schema assigns a slot to every attribute path that some pattern reads, so
// that matching reads fields by index rather than by name. Paths are dotted
// ("geo.country"). A Schema only grows; slots never move.
type Schema struct {
	paths []string
	index map[string]int
}

// NewSchema returns an empty schema.
func NewSchema() *Schema { return &Schema{index: map[string]int{}} }

// Slot returns the slot of path, adding it if it is new.
func (s *Schema) Slot(path string) int {
	if i, ok := s.index[path]; ok {
		return i
	}
	i := len(s.paths)
	s.paths = append(s.paths, path)
	s.index[path] = i
	return i
}

// Lookup returns the slot of path, if it has one.
func (s *Schema) Lookup(path string) (int, bool) {
	i, ok := s.index[path]
	return i, ok
}

// Paths returns the paths by slot. The caller must not modify it.
func (s *Schema) Paths() []string { return s.paths }

// Len returns the number of slots.
func (s *Schema) Len() int { return len(s.paths) }
