package dwn

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// PermissionsProtocol is the built-in protocol permission grants and their revocations are
// written under (paths "grant" and "grant/revocation"). Every tenant has it; it cannot be
// configured.
const PermissionsProtocol = "https://tbd.website/dwn/permissions"

// MaxProtocolDepth bounds the nesting of a protocol's structure (and so of protocol paths
// and context IDs).
const MaxProtocolDepth = 10

// Actions a protocol rule can allow.
const (
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionRead      = "read"
	ActionQuery     = "query"
	ActionDelete    = "delete"
	ActionCoUpdate  = "co-update"
	ActionCoDelete  = "co-delete"
	ActionSubscribe = "subscribe"
)

// Who a protocol rule is about.
const (
	WhoAnyone    = "anyone"
	WhoAuthor    = "author"
	WhoRecipient = "recipient"
)

// Protocol is a protocol definition, in the shape Decentralized Web Nodes use: the record
// types of the protocol, and their structure (which type nests under which) with the rules
// saying who may do what at each place.
//
//	{
//	  "protocol": "https://example.com/chat",
//	  "published": true,
//	  "types": {"thread": {"schema": "https://example.com/thread", "dataFormats": ["application/json"]},
//	            "message": {"dataFormats": ["text/plain"]}},
//	  "structure": {
//	    "thread": {
//	      "$actions": [{"who": "anyone", "can": ["create"]}],
//	      "message": {"$actions": [{"who": "recipient", "of": "thread", "can": ["create", "read"]},
//	                               {"who": "author", "of": "thread", "can": ["read"]}]}
//	    }
//	  }
//	}
type Protocol struct {
	Protocol  string                  `json:"protocol"`
	Published bool                    `json:"published"`
	Types     map[string]ProtocolType `json:"types"`
	Structure map[string]*RuleSet     `json:"structure"`
}

// ProtocolType is a record type: when Schema is set, records of the type must carry it;
// when DataFormats is set, their data format must be one of them.
type ProtocolType struct {
	Schema      string   `json:"schema,omitempty"`
	DataFormats []string `json:"dataFormats,omitempty"`
}

// RuleSet holds the rules of one place in a protocol's structure ("$actions", "$size") and
// the record types nested under it.
type RuleSet struct {
	Actions  []ActionRule
	Size     *SizeRange
	Children map[string]*RuleSet
}

// ActionRule allows actions to someone: anyone, the author of the record at an ancestor
// path (Of), or the recipient of that record (or, without Of, of the record itself).
type ActionRule struct {
	Who string   `json:"who"`
	Of  string   `json:"of,omitempty"`
	Can []string `json:"can"`
}

// SizeRange bounds the data size of records of a type, in bytes.
type SizeRange struct {
	Min int64 `json:"min,omitempty"`
	Max int64 `json:"max,omitempty"`
}

// MarshalJSON writes the rule set with "$actions" and "$size" beside the nested types.
func (r *RuleSet) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.Children)+2)
	for k, v := range r.Children {
		m[k] = v
	}
	if len(r.Actions) > 0 {
		m["$actions"] = r.Actions
	}
	if r.Size != nil {
		m["$size"] = r.Size
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads a rule set: "$actions", "$size" and nested types; any other "$"
// property is an error.
func (r *RuleSet) UnmarshalJSON(b []byte) error { return r.decode(b, 1) }

func (r *RuleSet) decode(b []byte, depth int) error {
	if depth > MaxProtocolDepth {
		return &ProtocolError{Path: "structure", Reason: fmt.Sprintf("deeper than %d", MaxProtocolDepth)}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return &ProtocolError{Path: "structure", Reason: err.Error()}
	}
	*r = RuleSet{}
	for k, v := range raw {
		switch {
		case k == "$actions":
			if err := strictUnmarshal(v, &r.Actions); err != nil {
				return &ProtocolError{Path: "structure.$actions", Reason: err.Error()}
			}
		case k == "$size":
			r.Size = new(SizeRange)
			if err := strictUnmarshal(v, r.Size); err != nil {
				return &ProtocolError{Path: "structure.$size", Reason: err.Error()}
			}
		case strings.HasPrefix(k, "$"):
			return &ProtocolError{Path: "structure." + k, Reason: "unsupported rule"}
		default:
			child := new(RuleSet)
			if err := child.decode(v, depth+1); err != nil {
				return err
			}
			if r.Children == nil {
				r.Children = map[string]*RuleSet{}
			}
			r.Children[k] = child
		}
	}
	return nil
}

// UnmarshalJSON reads a definition strictly: unknown properties are errors.
func (p *Protocol) UnmarshalJSON(b []byte) error {
	type plain Protocol
	var q plain
	if err := strictUnmarshal(b, &q); err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) {
			return pe
		}
		return &ProtocolError{Path: "definition", Reason: err.Error()}
	}
	*p = Protocol(q)
	return nil
}

// ParseProtocol decodes and validates a protocol definition.
func ParseProtocol(data []byte) (*Protocol, error) {
	p := new(Protocol)
	if err := json.Unmarshal(data, p); err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) {
			return nil, pe
		}
		return nil, &ProtocolError{Path: "definition", Reason: err.Error()}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

var allActions = []string{ActionCreate, ActionUpdate, ActionRead, ActionQuery, ActionDelete, ActionCoUpdate, ActionCoDelete, ActionSubscribe}

// Validate checks the definition: an absolute protocol URI; types with valid names, schemas
// and data formats; a structure naming only declared types, at most MaxProtocolDepth deep;
// rules with a known who, known actions, and an of naming an ancestor (required for
// author, and for recipient rules that allow create).
func (p *Protocol) Validate() error {
	if err := checkURI("protocol", p.Protocol); err != nil {
		return &ProtocolError{Path: "protocol", Reason: "not an absolute URI"}
	}
	for name, t := range p.Types {
		if err := checkSegment(name); err != nil {
			return &ProtocolError{Path: "types." + name, Reason: err.Error()}
		}
		if t.Schema != "" && checkURI("schema", t.Schema) != nil {
			return &ProtocolError{Path: "types." + name + ".schema", Reason: "not an absolute URI"}
		}
		for _, f := range t.DataFormats {
			if f == "" || len(f) > 256 {
				return &ProtocolError{Path: "types." + name + ".dataFormats", Reason: "empty or too long"}
			}
		}
	}
	if len(p.Structure) == 0 {
		return &ProtocolError{Path: "structure", Reason: "empty"}
	}
	return p.validateLevel(p.Structure, nil)
}

func checkSegment(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, "/$ \t\r\n") {
		return errors.New("a type name is 1 to 64 characters without '/', '$' or spaces")
	}
	return nil
}

func (p *Protocol) validateLevel(level map[string]*RuleSet, parent []string) error {
	if len(parent) >= MaxProtocolDepth {
		return &ProtocolError{Path: "structure." + strings.Join(parent, "/"), Reason: fmt.Sprintf("deeper than %d", MaxProtocolDepth)}
	}
	for name, rs := range level {
		segs := append(slices.Clone(parent), name)
		path := strings.Join(segs, "/")
		at := "structure." + path
		if _, ok := p.Types[name]; !ok {
			return &ProtocolError{Path: at, Reason: "type " + name + " is not declared in types"}
		}
		if rs == nil {
			return &ProtocolError{Path: at, Reason: "null"}
		}
		if s := rs.Size; s != nil && (s.Min < 0 || s.Max < 0 || (s.Max > 0 && s.Max < s.Min)) {
			return &ProtocolError{Path: at + ".$size", Reason: "min and max must be non-negative and min ≤ max"}
		}
		for i, a := range rs.Actions {
			if err := validateRule(a, segs); err != nil {
				return &ProtocolError{Path: fmt.Sprintf("%s.$actions[%d]", at, i), Reason: err.Error()}
			}
		}
		if err := p.validateLevel(rs.Children, segs); err != nil {
			return err
		}
	}
	return nil
}

func validateRule(a ActionRule, segs []string) error {
	switch a.Who {
	case WhoAnyone:
		if a.Of != "" {
			return errors.New("who anyone takes no of")
		}
	case WhoAuthor, WhoRecipient:
		if a.Of == "" && (a.Who == WhoAuthor || slices.Contains(a.Can, ActionCreate) || slices.Contains(a.Can, ActionUpdate) || slices.Contains(a.Can, ActionDelete)) {
			return fmt.Errorf("who %s needs of (an ancestor path) for these actions", a.Who)
		}
		if a.Of != "" {
			of, err := splitPath(a.Of)
			if err != nil || len(of) >= len(segs) || !slices.Equal(of, segs[:len(of)]) {
				return fmt.Errorf("of %q is not an ancestor of %s", a.Of, strings.Join(segs, "/"))
			}
		}
	default:
		return fmt.Errorf("unknown who %q", a.Who)
	}
	if len(a.Can) == 0 {
		return errors.New("can is empty")
	}
	for i, c := range a.Can {
		if !slices.Contains(allActions, c) {
			return fmt.Errorf("unknown action %q", c)
		}
		if slices.Contains(a.Can[:i], c) {
			return fmt.Errorf("action %q listed twice", c)
		}
	}
	return nil
}

func splitPath(path string) ([]string, error) {
	if path == "" {
		return nil, errors.New("empty protocol path")
	}
	segs := strings.Split(path, "/")
	if len(segs) > MaxProtocolDepth {
		return nil, fmt.Errorf("protocol path deeper than %d", MaxProtocolDepth)
	}
	for _, s := range segs {
		if err := checkSegment(s); err != nil {
			return nil, err
		}
	}
	return segs, nil
}

// ruleSet returns the rule set at a protocol path.
func (p *Protocol) ruleSet(path string) (*RuleSet, bool) {
	segs, err := splitPath(path)
	if err != nil {
		return nil, false
	}
	level := p.Structure
	var rs *RuleSet
	for _, s := range segs {
		var ok bool
		if rs, ok = level[s]; !ok || rs == nil {
			return nil, false
		}
		level = rs.Children
	}
	return rs, true
}

// allows reports whether a rule of rs lets requester perform action on a record whose
// recipient is recipient; ancestor looks up the record's ancestors by protocol path.
func (rs *RuleSet) allows(action, requester, recipient string, ancestor func(path string) *Record) bool {
	for _, a := range rs.Actions {
		if !slices.Contains(a.Can, action) {
			continue
		}
		switch a.Who {
		case WhoAnyone:
			return true
		case WhoAuthor:
			if anc := ancestor(a.Of); anc != nil && anc.Author == requester {
				return true
			}
		case WhoRecipient:
			if a.Of == "" {
				if recipient != "" && recipient == requester {
					return true
				}
			} else if anc := ancestor(a.Of); anc != nil && anc.Recipient != "" && anc.Recipient == requester {
				return true
			}
		}
	}
	return false
}

// permissionsDefinition is the built-in PermissionsProtocol: only the tenant writes grants
// and revocations; a grantee reads its grants as their recipient.
func permissionsDefinition() *Protocol {
	return &Protocol{
		Protocol: PermissionsProtocol,
		Types: map[string]ProtocolType{
			"grant":      {DataFormats: []string{"application/json"}},
			"revocation": {DataFormats: []string{"application/json"}},
		},
		Structure: map[string]*RuleSet{
			"grant": {
				Actions:  []ActionRule{{Who: WhoRecipient, Can: []string{ActionRead, ActionQuery}}},
				Children: map[string]*RuleSet{"revocation": {Actions: []ActionRule{{Who: WhoRecipient, Of: "grant", Can: []string{ActionRead, ActionQuery}}}}},
			},
		},
	}
}
