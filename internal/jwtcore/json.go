package jwtcore

import (
	"encoding/json"
	"errors"
)

// maxDepth bounds JSON nesting in a header or payload.
const maxDepth = 32

var errJSON = errors.New("malformed JSON")

// checkJSON scans data as a single JSON object and fails if any object in it
// (at any depth) repeats a member name, counting escaped spellings
// ("\u0061lg") as the same name (J32). It checks structure only; the caller
// still decodes with encoding/json, which validates the rest.
func checkJSON(data []byte) error {
	s := scanner{b: data}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return errJSON
	}
	if err := s.value(0); err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return errJSON
	}
	return nil
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return errors.New("JSON nested too deeply")
	}
	s.ws()
	if s.i >= len(s.b) {
		return errJSON
	}
	switch s.b[s.i] {
	case '{':
		return s.object(depth)
	case '[':
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) {
				return errJSON
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.b[s.i] == ']' {
				s.i++
				return nil
			}
			return errJSON
		}
	case '"':
		_, _, err := s.str()
		return err
	default:
		start := s.i
		for s.i < len(s.b) {
			c := s.b[s.i]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			s.i++
		}
		if s.i == start {
			return errJSON
		}
		return nil
	}
}

// str scans a string starting at the opening quote and returns its raw
// contents and whether it contains escapes.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	s.i++ // opening quote
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			escaped = true
			s.i += 2
		case '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, nil
		default:
			s.i++
		}
	}
	return nil, false, errJSON
}

func (s *scanner) object(depth int) error {
	s.i++ // {
	var keys [16]string
	seen := keys[:0]
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return errJSON
		}
		raw, escaped, err := s.str()
		if err != nil {
			return err
		}
		name := string(raw)
		if escaped {
			quoted := make([]byte, 0, len(raw)+2)
			quoted = append(append(append(quoted, '"'), raw...), '"')
			if err := json.Unmarshal(quoted, &name); err != nil {
				return errJSON
			}
		}
		for _, k := range seen {
			if k == name {
				return errors.New("duplicate JSON member " + quoteSafe(name))
			}
		}
		seen = append(seen, name)
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errJSON
		}
		s.i++
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return errJSON
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.b[s.i] == '}' {
			s.i++
			return nil
		}
		return errJSON
	}
}

// quoteSafe shortens a member name for an error message.
func quoteSafe(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	b, _ := json.Marshal(s)
	return string(b)
}
