package workflow

import (
	"encoding/binary"
	"slices"
)

// The SQLite store keeps a run's step records in one column, in this compact binary form, so
// that a transition rewrites one row: per step, its index, attempt counts and times as varints,
// and its id, status, output and error as length-prefixed bytes.

const stepCodecVersion = 1

func encodeSteps(steps []StepRecord) []byte {
	n := 2
	for _, s := range steps {
		n += 6*binary.MaxVarintLen64 + len(s.ID) + len(s.Status) + len(s.Output) + len(s.Error) + 4*binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	b = append(b, stepCodecVersion)
	b = binary.AppendUvarint(b, uint64(len(steps)))
	for _, s := range steps {
		b = binary.AppendVarint(b, int64(s.Index))
		b = binary.AppendVarint(b, int64(s.Attempt))
		b = binary.AppendVarint(b, int64(s.CompensationAttempt))
		b = binary.AppendVarint(b, nanos(s.Started))
		b = binary.AppendVarint(b, nanos(s.Finished))
		for _, f := range [][]byte{[]byte(s.ID), []byte(s.Status), s.Output, []byte(s.Error)} {
			b = binary.AppendUvarint(b, uint64(len(f)))
			b = append(b, f...)
		}
		// an absent output (nil) and an empty one differ
		if s.Output == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
		}
	}
	return b
}

func decodeSteps(b []byte) ([]StepRecord, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if b[0] != stepCodecVersion {
		return nil, errStepCodec
	}
	b = b[1:]
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)) {
		return nil, errStepCodec
	}
	b = b[k:]
	steps := make([]StepRecord, 0, count)
	for range count {
		var s StepRecord
		var ints [5]int64
		for i := range ints {
			v, k := binary.Varint(b)
			if k <= 0 {
				return nil, errStepCodec
			}
			ints[i], b = v, b[k:]
		}
		s.Index, s.Attempt, s.CompensationAttempt = int(ints[0]), int(ints[1]), int(ints[2])
		s.Started, s.Finished = fromNanos(ints[3]), fromNanos(ints[4])
		var fields [4][]byte
		for i := range fields {
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return nil, errStepCodec
			}
			fields[i], b = slices.Clone(b[k:k+int(l)]), b[k+int(l):]
		}
		if len(b) < 1 {
			return nil, errStepCodec
		}
		if b[0] == 0 {
			fields[2] = nil
		} else if fields[2] == nil {
			fields[2] = []byte{}
		}
		b = b[1:]
		s.ID, s.Status, s.Output, s.Error = string(fields[0]), StepStatus(fields[1]), fields[2], string(fields[3])
		steps = append(steps, s)
	}
	if len(b) != 0 {
		return nil, errStepCodec
	}
	return steps, nil
}
