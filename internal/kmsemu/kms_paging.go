package kmsemu

import (
	"crypto/sha256"
	"encoding/base64"
	"sort"
	"strconv"
)

// Pagination markers are opaque, as AWS's are ("Do not attempt to construct
// this value"): the base64 of a cursor (the last item returned) and a
// checksum that binds it to the operation, account, Region and listed key.
// A marker that was not issued for the same listing is InvalidMarkerException.

// markerSalt keeps checksums from being trivially computable by a client.
const markerSalt = "kmsemu marker v1\x00"

func markerSum(scope, cursor string) []byte {
	h := sha256.New()
	h.Write([]byte(markerSalt))
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(cursor))
	return h.Sum(nil)[:12]
}

func encodeMarker(scope, cursor string) string {
	b := append([]byte(cursor), markerSum(scope, cursor)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeMarker(scope, marker string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(marker)
	if err != nil || len(b) < 12 {
		return "", false
	}
	cursor, sum := string(b[:len(b)-12]), b[len(b)-12:]
	want := markerSum(scope, cursor)
	for i := range sum {
		if sum[i] != want[i] {
			return "", false
		}
	}
	return cursor, true
}

func pageScope(t *tx, extra string) string {
	return t.c.Op + "\x00" + t.c.Account + "\x00" + t.c.Region + "\x00" + extra
}

// pageInput is the Limit and Marker members of the List operations.
type pageInput struct {
	Limit  *int64  `json:"Limit"`
	Marker *string `json:"Marker"`
}

// validate checks Limit against the documented range of the operation and
// Marker against MarkerType (1–1024 characters of [\u0020-\u00FF]).
func (p *pageInput) validate(v *validator, maxLimit int64) {
	v.rangeInt(p.Limit, "limit", 1, maxLimit)
	v.length(p.Marker, "marker", 1, 1024)
	if p.Marker != nil {
		for _, r := range *p.Marker {
			if r < 0x20 || r > 0xFF {
				v.add(p.Marker, "marker", "satisfy regular expression pattern: [\\u0020-\\u00FF]*")
				break
			}
		}
	}
}

func (p *pageInput) limit(def int) int {
	if p.Limit == nil {
		return def
	}
	return int(*p.Limit)
}

// pageOf returns the items of sorted that follow the marker's cursor, at most
// limit of them, and the next marker when more follow.
func pageOf(t *tx, scope string, sorted []string, p *pageInput, def int) ([]string, *string, *apiError) {
	start := 0
	if p.Marker != nil {
		cursor, ok := decodeMarker(scope, *p.Marker)
		if !ok {
			return nil, nil, errInvalidMarker()
		}
		start = sort.SearchStrings(sorted, cursor)
		if start < len(sorted) && sorted[start] == cursor {
			start++
		}
	}
	n := p.limit(def)
	end := start + n
	if end >= len(sorted) {
		return sorted[start:], nil, nil
	}
	next := encodeMarker(scope, sorted[end-1])
	return sorted[start:end], &next, nil
}

// indexPage pages a list addressed by position (ListKeyRotations, whose
// entries only ever grow at the end).
func indexPage(scope string, total int, p *pageInput, def int) (start, end int, next *string, err *apiError) {
	if p.Marker != nil {
		cursor, ok := decodeMarker(scope, *p.Marker)
		if !ok {
			return 0, 0, nil, errInvalidMarker()
		}
		n, convErr := strconv.Atoi(cursor)
		if convErr != nil || n < 0 {
			return 0, 0, nil, errInvalidMarker()
		}
		start = min(n, total)
	}
	end = start + p.limit(def)
	if end >= total {
		return start, total, nil, nil
	}
	m := encodeMarker(scope, strconv.Itoa(end))
	return start, end, &m, nil
}
